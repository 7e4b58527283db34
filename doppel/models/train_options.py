"""Training options shared by every model (they live in the model's options, as in DFL, so one
dataclass describes a model). None of them is fixed: they may change when a model is resumed."""

from __future__ import annotations

from dataclasses import dataclass

from doppel.models.options import Options, opt

CT_MODES = ("none", "rct", "lct", "mkl", "idt", "sot")
OPTIMIZERS = ("adabelief", "adam", "rmsprop")


@dataclass(frozen=True)
class TrainingOptions(Options):
    batch_size: int = opt(4, "Faces per identity per iteration; larger is smoother but needs more memory.", min=1, max=512)
    optimizer: str = opt("adabelief", "Optimiser: AdaBelief (DFL default), Adam, or RMSprop.", choices=OPTIMIZERS)
    lr: float = opt(5e-5, "Learning rate.", min=1e-7, max=1e-2)
    lr_warmup: int = opt(0, "Raise the learning rate linearly from 0 over the first N iterations (0 = off); "
                         "lets a higher lr start stably in short runs.", min=0, max=100000)
    lr_dropout: bool = opt(False, "Update a random 30% of the weights each step on a 500-iteration cosine lr cycle; "
                           "switch on late, for sharper detail.")
    clipgrad: bool = opt(False, "Clip the global gradient norm at 1.0 (prevents model collapse with GAN or style).")
    masked_training: bool = opt(True, "Train inside the (blurred) face mask only.", group="loss")
    eyes_mouth_prio: bool = opt(False, "Heavily weight the eyes and mouth (300x L1 on their hull).", group="loss")
    pixel_loss: bool = opt(False, "Use MSE instead of DSSIM for the image term (old SAE option; switch on after "
                           "about 20k iterations, not from the start).", group="loss")
    face_style_power: float = opt(0.0, "Match the swap's colours to the destination inside the mask.",
                                  group="loss", min=0.0, max=100.0)
    bg_style_power: float = opt(0.0, "Make the swap's background match the destination's.", group="loss",
                                min=0.0, max=100.0)
    gan_power: float = opt(0.0, "Weight of the patch-GAN loss on the source side (0 = off); enable late.",
                           group="loss", min=0.0, max=5.0)
    gan_patch_size: int = opt(0, "GAN patch size in pixels; 0 = resolution / 8.", group="loss", min=0, max=640)
    gan_dims: int = opt(16, "GAN discriminator base channels.", group="loss", min=4, max=512)
    remove_gray_border: bool = opt(False, "Ignore a thin border of the face image in the loss, where alignment "
                                   "padding leaves flat colour (old H64/H128 option).", group="loss")
    random_warp: bool = opt(True, "Randomly warp the input faces (generalisation); switch off to sharpen.",
                            group="augment")
    random_hsv_power: float = opt(0.0, "Random hue/saturation/value jitter of the src input.", group="augment",
                                  min=0.0, max=0.3)
    random_src_flip: bool = opt(False, "Randomly mirror source faces.", group="augment")
    random_dst_flip: bool = opt(True, "Randomly mirror destination faces.", group="augment")
    uniform_yaw: bool = opt(False, "Draw source faces evenly over yaw (helps profiles).", group="augment")
    blur_out_mask: bool = opt(False, "Blur the area outside the mask of the training targets.", group="augment")
    ct_mode: str = opt("none", "Recolour source samples toward random destination faces.", group="augment",
                       choices=CT_MODES)
    src_face_scale: int = opt(0, "Scale the source face by this percent in training samples (old SAE "
                              "option, -30..30).", group="augment", min=-30, max=30)
    pretrain: bool = opt(False, "Pretraining mode: warp off, flips on, GAN off, uniform yaw on.")
