//! The executor on several threads gives exactly the single-threaded logits: every model
//! family of the latency table's random models, at batches 1, 5 and 32, under every thread
//! plan that applies (split into parts, GEMMs split, one thread) and the one chosen by timing,
//! for every kernel set this CPU has.

use qfront_rt::bench::random_models::{random_model, Widths};
use qfront_rt::bench::{synthetic_input, SyntheticInput};
use qfront_rt::{KernelSet, Session, ThreadPlan};

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
            assert_eq!(one.thread_plans(32), vec![ThreadPlan::OneThread]);
            for threads in [2, 3] {
                let mut many = Session::with_threads(&file, kernels, threads).unwrap();
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
        split > 12,
        "batches were split over threads only {split} times"
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
