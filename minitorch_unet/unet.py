"""The U-Net (Ronneberger et al., 2015): a contracting path, an expanding path, skip connections.

Each level applies two 3x3 convolutions (optionally with batch norm), then 2x2 max pooling on
the way down; on the way up a 2x2 transposed convolution doubles the size, the matching
encoder output is concatenated (center-cropped first with unpadded 'valid' convolutions, as
in the original paper), and two 3x3 convolutions follow. A 1x1 convolution gives one logit
per pixel: ``model(x)`` returns these logits, as a PyTorch module does, and the losses of
:mod:`minitorch_unet.losses` take them; ``model.probabilities(x)`` applies the sigmoid, the
probability of tumour.
"""
from __future__ import annotations

import numpy as np

from . import functional as F, nn
from .autograd import Tensor, no_grad


class DoubleConv(nn.Sequential):
    """(conv 3x3 -> [batch norm] -> ReLU) x 2; x: (N, C_in, H, W) -> (N, C_out, H', W')."""

    def __init__(self, in_channels: int, out_channels: int, padding: str, batch_norm: bool,
                 dropout: float = 0.0) -> None:
        layers: list[nn.Module] = []
        for c_in in (in_channels, out_channels):
            layers.append(nn.Conv2d(c_in, out_channels, 3, padding=1 if padding == "same" else 0,
                                    bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU())
        if dropout:
            layers.append(nn.Dropout(dropout))
        super().__init__(*layers)


class UNet(nn.Module):
    """x: (N, in_channels, H, W) -> logits (N, out_channels, H', W'), before the sigmoid.

    H' = H with padding='same'; smaller with 'valid' (see ``output_size``). H must be
    divisible by 2**depth with 'same'.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, base_filters: int = 32,
                 depth: int = 4, padding: str = "same", batch_norm: bool = True,
                 dropout: float = 0.0, device: str = "cpu") -> None:
        super().__init__()
        if padding not in ("same", "valid"):
            raise ValueError(f"UNet: padding must be 'same' or 'valid', got {padding!r}")
        if depth < 1 or base_filters < 1:
            raise ValueError(f"UNet: depth and base_filters must be positive, got {depth}, {base_filters}")
        self.config = dict(in_channels=in_channels, out_channels=out_channels,
                           base_filters=base_filters, depth=depth, padding=padding,
                           batch_norm=batch_norm, dropout=dropout)
        self.depth, self.padding = depth, padding
        widths = [base_filters * 2 ** i for i in range(depth + 1)]
        for i in range(depth):
            setattr(self, f"enc{i + 1}", DoubleConv(in_channels if i == 0 else widths[i - 1],
                                                    widths[i], padding, batch_norm))
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = DoubleConv(widths[depth - 1], widths[depth], padding, batch_norm, dropout)
        for i in reversed(range(depth)):
            setattr(self, f"up{i + 1}", nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2))
            setattr(self, f"dec{i + 1}", DoubleConv(2 * widths[i], widths[i], padding, batch_norm))
        self.head = nn.Conv2d(widths[0], out_channels, 1)
        self.to(device)

    def forward(self, x: Tensor) -> Tensor:
        """The head's output, one logit per pixel: (N, out_channels, H', W')."""
        self._check_input(x)
        skips = []
        for i in range(self.depth):
            x = getattr(self, f"enc{i + 1}")(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for i in reversed(range(self.depth)):
            x = getattr(self, f"up{i + 1}")(x)
            skip = skips[i]
            if skip.shape[-2:] != x.shape[-2:]:
                skip = F.center_crop(skip, x.shape[-2:])
            x = getattr(self, f"dec{i + 1}")(F.cat([skip, x], dim=1))
        return self.head(x)

    @classmethod
    def pretrained(cls, device: str = "cpu") -> "UNet":
        """The shipped U-Net (trained on 98 LGG patients, FLAIR), in evaluation mode.

        See ``minitorch_unet/weights/MODEL_CARD.md`` for its data, recipe and limits.
        """
        from .pretrained import load_pretrained
        return load_pretrained(device)

    def probabilities(self, x: Tensor) -> Tensor:
        """sigmoid(model(x)): the probability of tumour per pixel, (N, out_channels, H', W')."""
        return F.sigmoid(self(x))

    def _check_input(self, x: Tensor) -> None:
        c = self.config["in_channels"]
        if x.ndim != 4 or x.shape[1] != c:
            raise ValueError(f"UNet: input must be (N, {c}, H, W), got shape {x.shape}")
        self.output_size(x.shape[2])
        self.output_size(x.shape[3])

    def output_size(self, size: int) -> int:
        """Output height (or width) for an input of that height; raises where pooling would
        meet an odd size."""
        shrink = 0 if self.padding == "same" else 4
        s = size
        for level in range(self.depth):
            s -= shrink
            if s <= 0 or s % 2:
                valid = "" if self.padding == "same" else " (each level loses 4 pixels before pooling)"
                raise ValueError(f"UNet: input size {size} reaches size {s} before pooling at level "
                                 f"{level + 1}; it must be positive and even{valid}. With "
                                 f"padding='same', use a multiple of {2 ** self.depth}.")
            s //= 2
        s -= shrink
        for _ in range(self.depth):
            s = 2 * s - shrink
        if s <= 0:
            raise ValueError(f"UNet: input size {size} is too small for depth {self.depth}")
        return s

    def summary(self, input_size: int = 256) -> str:
        """A table of each block's output shape and parameters, for one input of that size."""
        rows = [("input", (1, self.config["in_channels"], input_size, input_size), 0)]
        x = Tensor(np.zeros(rows[0][1], np.float32), device=self.head.weight.device)
        was_training = self.training
        self.eval()
        with no_grad():
            skips = []
            for i in range(self.depth):
                block = getattr(self, f"enc{i + 1}")
                x = block(x)
                skips.append(x)
                rows.append((f"enc{i + 1}", x.shape, block.num_parameters()))
                x = self.pool(x)
                rows.append(("pool", x.shape, 0))
            x = self.bottleneck(x)
            rows.append(("bottleneck", x.shape, self.bottleneck.num_parameters()))
            for i in reversed(range(self.depth)):
                up, dec = getattr(self, f"up{i + 1}"), getattr(self, f"dec{i + 1}")
                x = up(x)
                rows.append((f"up{i + 1}", x.shape, up.num_parameters()))
                skip = skips[i] if skips[i].shape[-2:] == x.shape[-2:] else \
                    F.center_crop(skips[i], x.shape[-2:])
                x = dec(F.cat([skip, x], dim=1))
                rows.append((f"dec{i + 1} (after cat)", x.shape, dec.num_parameters()))
            x = self.head(x)
            rows.append(("head (1x1 conv)", x.shape, self.head.num_parameters()))
        self.train(was_training)
        lines = [f"UNet(depth={self.depth}, base_filters={self.config['base_filters']}, "
                 f"padding='{self.padding}', batch_norm={self.config['batch_norm']})",
                 f"{'layer':<24}{'output shape':<24}{'parameters':>12}"]
        lines += [f"{name:<24}{str(tuple(shape)):<24}{params:>12,}" for name, shape, params in rows]
        lines.append(f"{'total':<48}{self.num_parameters():>12,}")
        return "\n".join(lines)
