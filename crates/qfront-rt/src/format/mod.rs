//! The `.qfm` model format: graph, container and validation.

mod builder;
mod container;
mod graph;
mod validate;

pub use crate::ops::embedding::{embedding_activation, EmbeddingMapping};
pub use builder::{ConvGeometry, LayerOutput, ModelBuilder, QuantizedWeights, RealAffine};
pub(crate) use container::unpack_weight_rows;
pub use container::{QfmFile, PREFIX_LEN, QFM_MAGIC};
pub use graph::{
    ActivationSpec, BlobRange, InputSpec, LayerParams, Node, Op, OutputStage, QfmModel,
    TokenPooling, WeightSpec, FORMAT_VERSION,
};
pub use validate::{validate_model, ModelLayout, ValueType, MAX_COLUMNS, MAX_ELEMENTS};
