//! How a trial was chosen, as a study's user reads it (`qfront study ask`, `qfront trials
//! --format json`): the optimizer's record ([`qfront_bo::ProposalKind`]) with objectives by
//! metric name and the reference point in each metric's own units and direction, as
//! `QfrontSampler` gives it in the trial attribute `qfront:proposal`.

use crate::config::Study;
use crate::store::Store;
use qfront_bo::ProposalKind;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// `{"kind": ...}` for `kind`: `"sobol"`, `"box-exploration"`, `"line-exploration"`,
/// `"anchor"` with the `objective`'s metric name, or `"acquisition"` with the reference
/// point's `rule` (`"given"`, `"predicted-front"`, `"loose"`; null for qParEGO), the
/// `reference` point as `{metric: value}` (the optimizer maximizes signed objectives, so a
/// minimized metric's coordinate is negated back) and the acquisition's `value` there.
pub fn proposal_json(study: &Study, kind: &ProposalKind) -> Value {
    let metric = |objective: usize| {
        study
            .objectives
            .get(objective)
            .map_or_else(|| json!(objective), |o| json!(o.metric))
    };
    match kind {
        ProposalKind::Anchor { objective } => {
            json!({"kind": "anchor", "objective": metric(*objective)})
        }
        ProposalKind::Acquisition {
            rule,
            reference,
            value,
        } => {
            let reference = reference.as_ref().map(|point| {
                study
                    .objectives
                    .iter()
                    .zip(point)
                    .map(|(o, &r)| (o.metric.clone(), json!(o.signed(r))))
                    .collect::<Map<String, Value>>()
            });
            json!({"kind": "acquisition", "rule": rule, "reference": reference, "value": value})
        }
        // The other kinds carry nothing but their name; serde spells it as the engine does
        // (a unit variant of a derived `Serialize` cannot fail to serialise).
        other => serde_json::to_value(other).expect("a unit proposal kind serialises"),
    }
}

/// How the optimizer chose each trial of the study in `store`, by trial number, as
/// [`proposal_json`] spells it; trials it has no record of are absent.
pub fn stored_proposals(study: &Study, store: &mut Store) -> crate::Result<BTreeMap<usize, Value>> {
    Ok(store
        .optimizer()?
        .trials()
        .iter()
        .filter_map(|t| {
            t.proposal
                .as_ref()
                .map(|kind| (t.id, proposal_json(study, kind)))
        })
        .collect())
}
