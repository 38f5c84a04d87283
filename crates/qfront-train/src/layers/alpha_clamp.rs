//! Keeps every PACT α at or above ε after an optimizer step (methods-spec §1.8 item 2), and
//! every learned LSQ step at or above [`LSQ_STEP_EPSILON`] (a step that an update pushes
//! through zero flips the sign of every weight and leaves no grid to export).
//!
//! The clamped value is rebuilt from `inner()` as a fresh tracked leaf with the same
//! parameter id, so the optimizer state survives and the clamp never enters the tape.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::Tensor;
use qfront_quant::quantizers::pact::PACT_ALPHA_EPSILON;

/// Smallest learned LSQ step kept after an optimizer step.
pub const LSQ_STEP_EPSILON: f64 = 1e-6;

struct AlphaClamp {
    path: Vec<String>,
    clamped: usize,
}

impl ModuleMapper for AlphaClamp {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let floor = match self.path.last().map(String::as_str) {
            Some("alpha") => {
                self.clamped += 1;
                PACT_ALPHA_EPSILON
            }
            Some("lsq_step") => LSQ_STEP_EPSILON,
            _ => return param,
        };
        param.map(|t| {
            if t.device().is_autodiff() {
                let require = t.is_require_grad();
                let fresh = Tensor::from_inner(t.inner().clamp_min(floor));
                if require {
                    fresh.require_grad()
                } else {
                    fresh
                }
            } else {
                t.clamp_min(floor)
            }
        })
    }
}

/// Clamps every parameter named `alpha` in `module` to `≥ ε` (and every `lsq_step` to
/// `≥ LSQ_STEP_EPSILON`); returns the module and how many α were visited.
pub fn clamp_pact_alphas<M: Module>(module: M) -> (M, usize) {
    let mut mapper = AlphaClamp {
        path: Vec::new(),
        clamped: 0,
    };
    let module = module.map(&mut mapper);
    let n = mapper.clamped;
    (module, n)
}
