//! The executor on several threads gives exactly the single-threaded logits: every model
//! family of the latency table's random models, at batches 1, 5 and 32, under every thread
//! plan that applies (split into parts, GEMMs split, one thread) and the one chosen by timing,
//! for every kernel set this CPU has.
//!
//! The models are the first seeds' random models, `QFRONT_THREADS_MODELS_PER_FAMILY` of each
//! family (default 3, so 12 models). CI sets 1 for its runs under qemu-user emulation, where
//! twelve models took 203 s (`-cpu max`, four kernel sets) and 141 s (Cortex-A53, two) and
//! four take 38 s and 23 s; the kernels themselves are checked against the reference there by
//! `kernels_agree.rs`.

use qfront_rt::bench::random_models::{random_model, Widths};
use qfront_rt::bench::{synthetic_input, SyntheticInput};
use qfront_rt::{KernelSet, Session, ThreadPlan};

fn logits(session: &mut Session, input: &SyntheticInput, batch: usize) -> Vec<f32> {
    match input {
        SyntheticInput::Images(pixels) => session.run_images(pixels, batch).unwrap().to_vec(),
        SyntheticInput::Tokens(ids) => session.run_tokens(ids, batch).unwrap().to_vec(),
    }
}

/// `per_family` random models of each of the four families, from the first seeds.
fn models_per_family(per_family: usize) -> Vec<(u64, qfront_rt::QfmFile)> {
    let mut taken = std::collections::BTreeMap::<String, usize>::new();
    let mut models = Vec::new();
    for seed in 0..1000 {
        let file = random_model(seed, Widths::OffMenu).unwrap();
        let count = taken.entry(file.model.name.clone()).or_default();
        if *count < per_family {
            *count += 1;
            models.push((seed, file));
        }
        if taken.len() == 4 && taken.values().all(|&c| c == per_family) {
            return models;
        }
    }
    panic!("the first 1000 seeds do not give {per_family} models of each family: {taken:?}");
}

#[test]
fn threads_change_nothing_but_speed() {
    let per_family: usize = std::env::var("QFRONT_THREADS_MODELS_PER_FAMILY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    assert!(
        per_family >= 1,
        "QFRONT_THREADS_MODELS_PER_FAMILY must be at least 1"
    );
    let models = models_per_family(per_family);
    let mut families = std::collections::BTreeSet::new();
    let mut split = 0;
    for (seed, file) in &models {
        families.insert(file.model.name.clone());
        for kernels in KernelSet::available() {
            let mut one = Session::new(file, kernels);
            assert_eq!(one.thread_plans(32), vec![ThreadPlan::OneThread]);
            for threads in [2, 3] {
                let mut many = Session::with_threads(file, kernels, threads).unwrap();
                assert_eq!(many.threads(), threads);
                assert!(
                    !many
                        .thread_plans(1)
                        .iter()
                        .any(|p| matches!(p, ThreadPlan::Parts(_))),
                    "batch 1 is never split"
                );
                for batch in [1, 5, 32] {
                    let input = synthetic_input(one.input_spec(), batch);
                    let expected = logits(&mut one, &input, batch);
                    for plan in many.thread_plans(batch) {
                        if matches!(plan, ThreadPlan::Parts(_)) {
                            split += 1;
                        }
                        many.set_thread_plan(Some(plan));
                        assert_eq!(many.thread_plan(batch), plan);
                        assert_eq!(
                            logits(&mut many, &input, batch),
                            expected,
                            "{} seed {seed}, {} kernels, {threads} threads, batch {batch}, {plan:?}",
                            file.model.name,
                            kernels.name()
                        );
                    }
                    // Chosen by timing (4 runs of each plan): whichever wins, the logits
                    // are the same.
                    many.set_thread_plan(None);
                    if threads == 2 && batch == 32 {
                        for _ in 0..13 {
                            assert_eq!(logits(&mut many, &input, batch), expected);
                        }
                        assert!(many.thread_plans(batch).contains(&many.thread_plan(batch)));
                    }
                }
            }
        }
    }
    assert_eq!(families.len(), 4, "{families:?}");
    assert!(
        split > models.len(),
        "batches were split over threads only {split} times for {} models",
        models.len()
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
