//! The executor on several threads gives exactly the single-threaded logits: every model
//! family of the latency table's random models, at batches split into one part per thread
//! (5 and 32) and at batch 1 (never split; only its large GEMMs are), for every kernel set
//! this CPU has.

use qfront_rt::bench::random_models::{random_model, Widths};
use qfront_rt::bench::{synthetic_input, SyntheticInput};
use qfront_rt::{KernelSet, Session};

fn logits(session: &mut Session, input: &SyntheticInput, batch: usize) -> Vec<f32> {
    match input {
        SyntheticInput::Images(pixels) => session.run_images(pixels, batch).unwrap().to_vec(),
        SyntheticInput::Tokens(ids) => session.run_tokens(ids, batch).unwrap().to_vec(),
    }
}

#[test]
fn threads_change_nothing_but_speed() {
    let mut families = std::collections::BTreeSet::new();
    let mut split = 0;
    for seed in 0..12 {
        let file = random_model(seed, Widths::OffMenu).unwrap();
        families.insert(file.model.name.clone());
        for kernels in KernelSet::available() {
            let mut one = Session::new(&file, kernels);
            for threads in [2, 3] {
                let mut many = Session::with_threads(&file, kernels, threads).unwrap();
                assert_eq!(many.threads(), threads);
                assert_eq!(many.batch_parts(1), 1, "batch 1 is never split");
                if many.batch_parts(32) > 1 {
                    split += 1;
                }
                for batch in [1, 5, 32] {
                    let input = synthetic_input(one.input_spec(), batch);
                    assert_eq!(
                        logits(&mut many, &input, batch),
                        logits(&mut one, &input, batch),
                        "{} seed {seed}, {} kernels, {threads} threads, batch {batch}",
                        file.model.name,
                        kernels.name()
                    );
                }
            }
        }
    }
    assert_eq!(families.len(), 4, "{families:?}");
    assert!(
        split > 12,
        "batches of 32 were split over threads only {split} times"
    );
}

#[test]
fn bad_thread_counts_are_refused() {
    let file = random_model(0, Widths::Menu).unwrap();
    for threads in [0, 257] {
        let err = Session::with_threads(&file, KernelSet::Reference, threads).unwrap_err();
        assert!(err.to_string().contains("1..=256"), "{err}");
    }
}
