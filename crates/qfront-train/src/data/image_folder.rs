//! Image classification from a directory with one sub-directory of images per class
//! (`root/cat/001.png`, `root/dog/a.jpg`, ...): PNG, JPEG and PGM/PPM read with the `image`
//! crate, decoded in parallel, converted to grey (1 channel) or RGB (3), resized to the
//! declared size (bilinear), and scaled to [0, 1] on the 1/255 grid. Classes are the
//! sub-directories in name order; hidden files are ignored and other files are counted and
//! reported.

use super::dataset::io_error;
use super::labels::LabelSet;
use super::rows::Rows;
use crate::{Result, TrainError};
use image::imageops::FilterType;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The extensions read as images.
pub const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "pgm", "ppm", "pnm", "pbm"];

/// The image geometry a split must have: `[channels, height, width]`, and whether images of
/// another size are resized (a declared size) or refused (size taken from the first image).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageGeometry {
    /// 1 or 3; `None`: from the first image.
    pub channels: Option<usize>,
    /// `[height, width]`; `None`: from the first image.
    pub size: Option<[usize; 2]>,
    /// Whether `size` was declared (resize) or taken from the first image (refuse others).
    pub resize: bool,
}

/// The images of one folder tree as rows of `[channels, height, width]` pixels.
#[derive(Debug)]
pub struct FolderImages {
    /// Pixel rows.
    pub rows: Rows<f32>,
    /// `[channels, height, width]`.
    pub shape: [usize; 3],
    /// Files that are not images (not hidden) and were left out.
    pub ignored_files: usize,
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, "image folder", e))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| !is_hidden(p))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Reads `root` (class folders). With an open `labels`, the class folders define the classes
/// (name order); with a frozen one, every folder must name a training class.
pub fn read_image_folder(
    root: &Path,
    training_root: &Path,
    labels: &mut LabelSet,
    geometry: ImageGeometry,
) -> Result<FolderImages> {
    let mut ignored_files = 0;
    let mut files: Vec<(PathBuf, usize)> = Vec::new();
    let mut class_dirs = 0;
    for class_dir in sorted_entries(root)? {
        if !class_dir.is_dir() {
            ignored_files += 1;
            continue;
        }
        class_dirs += 1;
        let name = class_dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let Some(class) = labels.lookup(&name) else {
            return Err(TrainError::bad_entry(
                root,
                format!("class folder '{name}'"),
                format!(
                    "there is no class '{name}' in the training folder {}; rename the folder to a training class or add it to the training data",
                    training_root.display()
                ),
            ));
        };
        let mut images = 0;
        for file in sorted_entries(&class_dir)? {
            let extension = file
                .extension()
                .map(|e| e.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            if file.is_file() && IMAGE_EXTENSIONS.contains(&extension.as_str()) {
                files.push((file, class));
                images += 1;
            } else {
                ignored_files += 1;
            }
        }
        if images == 0 {
            return Err(TrainError::bad_entry(
                root,
                format!("class folder '{name}'"),
                format!(
                    "holds no images ({}); add images or remove the folder",
                    IMAGE_EXTENSIONS.join(", ")
                ),
            ));
        }
    }
    if class_dirs == 0 {
        return Err(TrainError::bad_entry(
            root,
            "the folder",
            "has no class sub-folders; an image dataset is a folder with one sub-folder of images per class (root/cat/1.png, root/dog/2.png)",
        ));
    }
    // The first image fixes what was not declared.
    let first = open(&files[0].0)?;
    let channels = geometry
        .channels
        .unwrap_or(match first.color().channel_count() {
            1 | 2 => 1,
            _ => 3,
        });
    let [height, width] = geometry
        .size
        .unwrap_or([first.height() as usize, first.width() as usize]);
    let per = channels * height * width;
    let decoded: Vec<Result<Vec<f32>>> = files
        .par_iter()
        .map(|(path, _)| {
            let image = open(path)?;
            let (h, w) = (image.height() as usize, image.width() as usize);
            let image = if [h, w] == [height, width] {
                image
            } else if geometry.resize {
                image.resize_exact(width as u32, height as u32, FilterType::Triangle)
            } else {
                return Err(TrainError::bad_entry(
                    path,
                    "the image",
                    format!(
                        "is {h}x{w} but the first image ({}) is {height}x{width}; make them the same size or declare one with --image-size HxW (image_size in a study) to resize them",
                        files[0].0.display()
                    ),
                ));
            };
            let mut planar = vec![0.0f32; per];
            if channels == 1 {
                for (o, p) in planar.iter_mut().zip(image.to_luma8().pixels()) {
                    *o = p.0[0] as f32 / 255.0;
                }
            } else {
                let plane = height * width;
                for (i, p) in image.to_rgb8().pixels().enumerate() {
                    for c in 0..3 {
                        planar[c * plane + i] = p.0[c] as f32 / 255.0;
                    }
                }
            }
            Ok(planar)
        })
        .collect();
    let mut rows = Rows::new(per);
    rows.values.reserve(files.len() * per);
    for ((_, class), pixels) in files.iter().zip(decoded) {
        rows.values.extend(pixels?);
        rows.labels.push(*class);
    }
    Ok(FolderImages {
        rows,
        shape: [channels, height, width],
        ignored_files,
    })
}

fn open(path: &Path) -> Result<image::DynamicImage> {
    let reader = image::io::Reader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| TrainError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
    reader.decode().map_err(|e| {
        TrainError::bad_entry(
            path,
            "the image",
            format!("cannot be decoded ({e}); replace or remove the file"),
        )
    })
}
