//! CNN refinement head: two ResNet BasicBlocks, a 3x3 conv to one channel, a sigmoid.
//! Names follow `nn.Sequential(BasicBlock, BasicBlock, Conv2d, Sigmoid)`:
//! `refine_head.{0,1}.{conv1,bn1,conv2,bn2}`, `refine_head.2.{weight,bias}`.
//! With an interpolation prior the last convolution's output is added to the prior's
//! logit before the sigmoid: the head learns a correction of the classical result.

use tch::{nn, nn::Module, nn::ModuleT, Tensor};

use crate::config::InterpolationPrior;

/// torchvision's `BasicBlock(planes, planes)`: conv-bn-relu-conv-bn, identity, relu.
#[derive(Debug)]
struct BasicBlock {
    conv1: nn::Conv2D,
    bn1: nn::BatchNorm,
    conv2: nn::Conv2D,
    bn2: nn::BatchNorm,
}

impl BasicBlock {
    fn new(vs: nn::Path, planes: i64) -> Self {
        let conv = nn::ConvConfig { padding: 1, bias: false, ..Default::default() };
        let bn = nn::BatchNormConfig { ws_init: nn::Init::Const(1.0), ..Default::default() };
        BasicBlock {
            conv1: nn::conv2d(&vs / "conv1", planes, planes, 3, conv),
            bn1: nn::batch_norm2d(&vs / "bn1", planes, bn),
            conv2: nn::conv2d(&vs / "conv2", planes, planes, 3, conv),
            bn2: nn::batch_norm2d(&vs / "bn2", planes, bn),
        }
    }

    fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        let out = self.bn1.forward_t(&self.conv1.forward(x), train).relu();
        let out = self.bn2.forward_t(&self.conv2.forward(&out), train);
        (out + x).relu()
    }
}

const PRIOR_EPSILON: f64 = 0.5 / 255.0;

#[derive(Debug)]
pub struct RefineHead {
    blocks: [BasicBlock; 2],
    to_gray: nn::Conv2D,
}

impl RefineHead {
    pub fn new(vs: nn::Path, embed_dim: i64, prior: InterpolationPrior) -> Self {
        let mut to_gray = nn::ConvConfig { padding: 1, ..Default::default() };
        if prior != InterpolationPrior::None {
            // Start as the identity on the prior; training learns the correction.
            (to_gray.ws_init, to_gray.bs_init) = (nn::Init::Const(0.0), nn::Init::Const(0.0));
        }
        RefineHead {
            blocks: [BasicBlock::new(&vs / 0, embed_dim), BasicBlock::new(&vs / 1, embed_dim)],
            to_gray: nn::conv2d(&vs / 2, embed_dim, 1, 3, to_gray),
        }
    }

    /// `[B, E, H, W]` features (and a `[B, 1, H, W]` prior in [0, 1]) -> `[B, 1, H, W]`
    /// intensities in (0, 1).
    pub fn forward(&self, features: &Tensor, prior: Option<&Tensor>, train: bool) -> Tensor {
        let x = self.blocks[0].forward(features, train);
        let x = self.blocks[1].forward(&x, train);
        let logits = self.to_gray.forward(&x);
        match prior {
            // Half a grey level from 0 and 1 keeps the logit finite.
            Some(prior) => (logits + prior.clamp(PRIOR_EPSILON, 1.0 - PRIOR_EPSILON).logit(None)).sigmoid(),
            None => logits.sigmoid(),
        }
    }
}
