//! The model families, built from a [`ModelSpec`](crate::spec::ModelSpec).

mod layer_list;
mod layer_spec;
mod lenet;
mod mlp;
mod model_file;
mod nlu;
mod onnx_import;
mod plan;
mod pretrained;
mod resnet;
mod sequential;

pub use layer_list::{
    check_hashed_rows, list_input, resolve as resolve_layers, ListInput, ResolvedLayer,
};
pub use layer_spec::{
    activation_names, layer_names, parse_layer_list, read_layer_list, resolve_vocabulary_paths,
    set_layer_size, text_encoding, Groups, GroupsName, LayerListFile, LayerListTable, LayerSpec,
    VocabularySpec,
};
pub use lenet::Lenet;
pub use mlp::Mlp;
pub use model_file::{is_onnx, read_model_file, ModelFile, PretrainedSource};
pub use nlu::{Nlu, TokenBlock};
pub use onnx_import::{import_onnx, ImportedInput, ImportedModel, SUPPORTED_OPERATORS};
pub use plan::{model_cost, LayerPlan, ModelPlan};
pub use pretrained::{BatchNormWeights, LayerWeights, PretrainedWeights};
pub use resnet::Resnet;
pub use sequential::{GridPool, PoolWindow, Sequential, SequentialLayer};

use crate::layers::ParamInit;
use crate::spec::{ModelFamily, ModelSpec};
use crate::Result;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

/// A batch of model input.
// Tensors are handles; the size difference is in the handle types, not in data.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum ModelInput {
    /// Images `[batch, channels, height, width]`.
    Image(Tensor<4>),
    /// Token ids `[batch, tokens]` and a mask `[batch, tokens]` (1 = real token).
    Tokens(Tensor<2, Int>, Tensor<2>),
}

/// Any model of the four families.
// Models are built once and moved through the optimizer by value, as burn expects; boxing
// the variants would only add indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Model {
    /// MLP.
    Mlp(Mlp),
    /// LeNet-style CNN.
    Lenet(Lenet),
    /// ResNet-20-style CNN.
    Resnet(Resnet),
    /// NLU intent model.
    Nlu(Nlu),
    /// A user's layer list.
    Layers(Sequential),
}

impl Model {
    /// Builds the model QAT starts from: freshly initialised from `seed`, then, for a layer
    /// list imported from ONNX, with the source's trained weights copied in (the file must
    /// still be the one pinned).
    pub fn build(spec: &ModelSpec, seed: u64, device: &Device) -> Result<Self> {
        let model = Self::build_untrained(spec, seed, device)?;
        match (&spec.family, model) {
            (
                ModelFamily::Layers {
                    layers,
                    pretrained: Some(source),
                },
                Model::Layers(sequential),
            ) => {
                let imported = source.import()?;
                imported.input.check(&spec.input)?;
                let loaded = imported.weights.apply(
                    sequential,
                    &layer_names(layers),
                    &activation_names(layers),
                    device,
                )?;
                Ok(Model::Layers(loaded))
            }
            (_, model) => Ok(model),
        }
    }

    /// Builds a freshly initialised model from a validated spec; every initial weight comes
    /// from `seed` (pretrained weights are not read: for restoring a checkpoint).
    pub fn build_untrained(spec: &ModelSpec, seed: u64, device: &Device) -> Result<Self> {
        spec.validate()?;
        let mut init = ParamInit::new(seed);
        let plan = ModelPlan::of(spec);
        Ok(match &spec.family {
            ModelFamily::Mlp { .. } => Model::Mlp(Mlp::new(spec, &plan, &mut init, device)),
            ModelFamily::Lenet { .. } => Model::Lenet(Lenet::new(spec, &plan, &mut init, device)),
            ModelFamily::Resnet { .. } => {
                Model::Resnet(Resnet::new(spec, &plan, &mut init, device))
            }
            ModelFamily::Nlu { .. } => Model::Nlu(Nlu::new(spec, &plan, &mut init, device)),
            ModelFamily::Layers { layers, .. } => {
                let resolved = resolve_layers(
                    layers,
                    list_input(&spec.input),
                    spec.classes,
                    spec.width_multiplier,
                )?;
                Model::Layers(Sequential::new(spec, &plan, &resolved, &mut init, device))
            }
        })
    }

    /// Logits `[batch, classes]`.
    pub fn forward(&self, input: ModelInput) -> Tensor<2> {
        match (self, input) {
            (Model::Mlp(m), ModelInput::Image(x)) => m.forward(x),
            (Model::Lenet(m), ModelInput::Image(x)) => m.forward(x),
            (Model::Resnet(m), ModelInput::Image(x)) => m.forward(x),
            (Model::Nlu(m), ModelInput::Tokens(ids, mask)) => m.forward(ids, mask),
            (Model::Layers(m), ModelInput::Image(x)) => m.forward(x),
            (Model::Layers(m), ModelInput::Tokens(ids, mask)) => m.forward_tokens(ids, mask),
            _ => panic!("input kind does not match the model; ModelSpec::validate rules this out"),
        }
    }
}
