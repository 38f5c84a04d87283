//! Model-size and BOPs accounting per layer, and the width-multiplier aligner of
//! "One weight bitwidth to rule them all" (Chin et al. 2020, methods-spec §3).

mod layer;
mod reference_networks;
mod size;
mod width;

pub use layer::{LayerOp, LayerRole};
pub use reference_networks::resnet20_cifar_skeleton;
pub use size::{account_model, BiasBits, LayerBits, LayerReport, ModelReport, SizePolicy};
pub use width::{
    align_width, largest_width_within, AlignedWidth, ChannelRounding, Channels, NetworkSkeleton,
    RoleBits, SkeletonLayer, SkeletonOp, WidthSearch,
};
