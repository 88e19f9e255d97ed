"""EnCodec (SEANet encoder/decoder + residual vector quantiser), after transformers' EncodecModel.

Audio is channels-last here (MLX convolutions): ``[B, N, C]``. Weight-normalised convolutions
are folded into plain weights at conversion (``sanitize``), and torch's ``[out, in, k]``
kernels become MLX's ``[out, k, in]``.
"""

from __future__ import annotations

import math

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from engine.musicgen.config import EncodecConfig


def _reflect_pad(x: mx.array, left: int, right: int) -> mx.array:
    """Reflect-pad along time (axis 1), zero-extending first when the signal is too short (as transformers)."""
    length = x.shape[1]
    extra = 0
    if length <= max(left, right):
        extra = max(left, right) - length + 1
        x = mx.pad(x, [(0, 0), (0, extra), (0, 0)])
    parts = []
    if left:
        parts.append(x[:, 1: left + 1][:, ::-1])
    parts.append(x)
    if right:
        parts.append(x[:, -right - 1: -1][:, ::-1])
    out = mx.concatenate(parts, axis=1) if len(parts) > 1 else x
    return out[:, : out.shape[1] - extra] if extra else out


def conv_as_matmuls(x: mx.array, weight: mx.array, dilation: int = 1) -> mx.array:
    """A stride-1 convolution ``[B, T, Cin] * [Cout, K, Cin] -> [B, T - (K-1)d, Cout]`` as K matrix products.

    Each tap is one ``[B*T, Cin] @ [Cin, Cout]`` product of a shifted view: on MLX's CPU path
    this ran 4-10x faster than ``mx.conv1d`` for EnCodec's long, narrow signals.
    """
    C_out, K, C_in = weight.shape
    T = x.shape[1] - (K - 1) * dilation
    out = x[:, :T] @ weight[:, 0].T
    for i in range(1, K):
        out = out + x[:, i * dilation: i * dilation + T] @ weight[:, i].T
    return out


class Conv1d(nn.Module):
    """The bare convolution weights (``conv.weight [out, k, in]``, ``conv.bias``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.weight = mx.zeros((out_channels, kernel_size, in_channels))
        self.bias = mx.zeros((out_channels,))


class EncodecConv1d(nn.Module):
    def __init__(self, config: EncodecConfig, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1,
                 dilation: int = 1):
        super().__init__()
        self.conv = Conv1d(in_ch, out_ch, kernel_size)
        self.causal = config.use_causal_conv
        self.pad_mode = config.pad_mode
        self.stride = stride
        self.dilation = dilation
        self.effective_kernel = (kernel_size - 1) * dilation + 1
        self.padding_total = self.effective_kernel - stride

    def __call__(self, x: mx.array) -> mx.array:
        length = x.shape[1]
        frames = math.ceil((length - self.effective_kernel + self.padding_total) / self.stride + 1) - 1
        extra = frames * self.stride + self.effective_kernel - self.padding_total - length
        if self.causal:
            left, right = self.padding_total, extra
        else:
            right = self.padding_total // 2
            left, right = self.padding_total - right, right + extra
        if self.pad_mode == "reflect":
            x = _reflect_pad(x, left, right)
        else:
            x = mx.pad(x, [(0, 0), (left, right), (0, 0)])
        if self.stride == 1:
            return conv_as_matmuls(x, self.conv.weight, self.dilation) + self.conv.bias
        y = mx.conv1d(x, self.conv.weight, stride=self.stride, dilation=self.dilation)
        return y + self.conv.bias


class EncodecConvTranspose1d(nn.Module):
    def __init__(self, config: EncodecConfig, in_ch: int, out_ch: int, kernel_size: int, stride: int):
        super().__init__()
        self.conv = Conv1d(in_ch, out_ch, kernel_size)
        self.causal = config.use_causal_conv
        self.trim_right_ratio = config.trim_right_ratio
        self.stride = stride
        self.padding_total = kernel_size - stride

    def __call__(self, x: mx.array) -> mx.array:
        y = self._transposed_conv(x) + self.conv.bias
        if self.causal:
            right = math.ceil(self.padding_total * self.trim_right_ratio)
        else:
            right = self.padding_total // 2
        left = self.padding_total - right
        return y[:, left: y.shape[1] - right]


    def _transposed_conv(self, x: mx.array) -> mx.array:
        """Full transposed convolution ``[B, T, Cin]`` -> ``[B, (T - 1) * stride + K, Cout]``.

        With a kernel that is a whole number of strides (EnCodec's is two), it is one matrix
        product and an overlap-add, far faster than MLX's CPU conv_transpose1d.
        """
        weight = self.conv.weight  # [Cout, K, Cin]
        C_out, K, C_in = weight.shape
        s = self.stride
        if K % s:
            return mx.conv_transpose1d(x, weight, stride=s)
        m = K // s
        B, T, _ = x.shape
        y = (x @ weight.transpose(2, 1, 0).reshape(C_in, K * C_out)).reshape(B, T, m, s, C_out)
        out = mx.pad(y[:, :, 0], [(0, 0), (0, m - 1), (0, 0), (0, 0)])
        for i in range(1, m):
            out = out + mx.pad(y[:, :, i], [(0, 0), (i, m - 1 - i), (0, 0), (0, 0)])
        return out.reshape(B, (T + m - 1) * s, C_out)


class EncodecLSTM(nn.Module):
    """A stacked LSTM (torch's gate order i, f, g, o) with a residual connection."""

    def __init__(self, config: EncodecConfig, dims: int):
        super().__init__()
        self.lstm = LSTMWeights(dims, config.num_lstm_layers)

    def __call__(self, x: mx.array) -> mx.array:
        h_in = x
        for layer in range(self.lstm.num_layers):
            h_in = self.lstm.run_layer(layer, h_in)
        return h_in + x


def _lstm_cell(gates: mx.array, c: mx.array) -> tuple[mx.array, mx.array]:
    """torch's gate order i, f, g, o."""
    i_g, f_g, g_g, o_g = mx.split(gates, 4, axis=-1)
    c = mx.sigmoid(f_g) * c + mx.sigmoid(i_g) * mx.tanh(g_g)
    return mx.sigmoid(o_g) * mx.tanh(c), c


def _recur_numpy(gates_x: np.ndarray, w_hh: np.ndarray) -> np.ndarray:
    """The recurrence of one LSTM layer in numpy: ``gates_x [B, T, 4D]`` (input projection and
    both biases) -> hidden states ``[B, T, D]``.

    On MLX's CPU backend the cell's sigmoids and tanhs run one element at a time; numpy's are
    vectorised. A 1024-wide layer over 250 frames took 174 ms here against 213-222 with MLX
    (musicgen-small's EnCodec, one thread), the same to 2.4e-7. sigmoid(a) = tanh(a/2)/2 + 1/2.
    """
    B, T, _ = gates_x.shape
    D = w_hh.shape[1]
    out = np.empty((B, T, D), np.float32)
    h = np.zeros((B, D), np.float32)
    c = np.zeros((B, D), np.float32)
    g = np.empty((B, 4 * D), np.float32)
    for t in range(T):
        np.matmul(h, w_hh.T, out=g)
        g += gates_x[:, t]
        gates = g.reshape(B, 4, D)
        s = np.tanh(gates * np.float32(0.5)) * np.float32(0.5) + np.float32(0.5)  # i, f, _, o
        c = s[:, 1] * c + s[:, 0] * np.tanh(gates[:, 2])
        h = s[:, 3] * np.tanh(c)
        out[:, t] = h
    return out


class LSTMWeights(nn.Module):
    def __init__(self, dims: int, num_layers: int):
        super().__init__()
        self.num_layers = num_layers
        for i in range(num_layers):
            setattr(self, f"weight_ih_l{i}", mx.zeros((4 * dims, dims)))
            setattr(self, f"weight_hh_l{i}", mx.zeros((4 * dims, dims)))
            setattr(self, f"bias_ih_l{i}", mx.zeros((4 * dims,)))
            setattr(self, f"bias_hh_l{i}", mx.zeros((4 * dims,)))

    def run_layer(self, i: int, x: mx.array) -> mx.array:
        """``x [B, T, D]`` -> hidden states ``[B, T, D]`` of layer ``i``.

        The input projection of every frame is one matrix product over time; only the
        recurrent product is per frame, as a matrix-vector product ``W_hh @ h`` per row: the
        ``h @ W_hh.T`` form made the BLAS re-pack the 16.8 MB weight on every frame (measured
        6.5 ms a frame against 4.2; a pre-transposed copy was slower still, and compiling the
        gate arithmetic added more than it saved on the CPU). Float32 on the CPU runs the
        recurrence in numpy (``_recur_numpy``).
        """
        w_hh = getattr(self, f"weight_hh_l{i}")
        gates_x = x @ getattr(self, f"weight_ih_l{i}").T + getattr(self, f"bias_ih_l{i}") + getattr(self, f"bias_hh_l{i}")
        if x.dtype == mx.float32 and mx.default_device() == mx.cpu:
            return mx.array(_recur_numpy(np.asarray(gates_x), np.asarray(w_hh)))
        B, T, _ = x.shape
        D = w_hh.shape[1]
        h = mx.zeros((B, D), x.dtype)
        c = mx.zeros((B, D), x.dtype)
        outputs = []
        for t in range(T):
            recurrent = mx.stack([w_hh @ h[b] for b in range(B)]) if B > 1 else (w_hh @ h[0])[None]
            h, c = _lstm_cell(gates_x[:, t] + recurrent, c)
            outputs.append(h)
        return mx.stack(outputs, axis=1)


class ELU(nn.Module):
    """``max(x, expm1(min(x, 0)))``, which is ELU since ``expm1(x) >= x``.

    On the CPU, MLX's ``exp`` ran ~10x slower than numpy's vectorised one, and the decoder's
    last layers take ELU of 10 million values per 5 s of audio, so there the values make a
    round trip through numpy (EnCodec runs once per generation, not per decoding step).
    ``expm1`` saves a pass over them (48 -> 37 ms for the last layer's) and is torch's own.
    """

    def __call__(self, x: mx.array) -> mx.array:
        if x.dtype == mx.float32 and mx.default_device() == mx.cpu and x.size >= 1 << 16:
            a = np.asarray(x)
            out = np.minimum(a, np.float32(0.0))
            np.expm1(out, out=out)
            return mx.array(np.maximum(out, a, out=out))
        return mx.maximum(x, mx.exp(mx.minimum(x, 0.0)) - 1.0)


class EncodecResnetBlock(nn.Module):
    def __init__(self, config: EncodecConfig, dim: int, dilations: tuple[int, int]):
        super().__init__()
        hidden = dim // config.compress
        kernels = (config.residual_kernel_size, 1)
        self.block = [
            ELU(), EncodecConv1d(config, dim, hidden, kernels[0], dilation=dilations[0]),
            ELU(), EncodecConv1d(config, hidden, dim, kernels[1], dilation=dilations[1]),
        ]
        if config.use_conv_shortcut:
            self.shortcut = EncodecConv1d(config, dim, dim, kernel_size=1)

    def __call__(self, x: mx.array) -> mx.array:
        y = x
        for layer in self.block:
            y = layer(y)
        return (self.shortcut(x) if "shortcut" in self else x) + y


class EncodecEncoder(nn.Module):
    def __init__(self, config: EncodecConfig):
        super().__init__()
        layers = [EncodecConv1d(config, config.audio_channels, config.num_filters, config.kernel_size)]
        scaling = 1
        for ratio in reversed(config.upsampling_ratios):
            scale = scaling * config.num_filters
            for j in range(config.num_residual_layers):
                layers.append(EncodecResnetBlock(config, scale, (config.dilation_growth_rate ** j, 1)))
            layers += [ELU(), EncodecConv1d(config, scale, scale * 2, kernel_size=ratio * 2, stride=ratio)]
            scaling *= 2
        layers += [EncodecLSTM(config, scaling * config.num_filters), ELU(),
                   EncodecConv1d(config, scaling * config.num_filters, config.hidden_size, config.last_kernel_size)]
        self.layers = layers

    def __call__(self, x: mx.array) -> mx.array:
        for layer in self.layers:
            x = layer(x)
        return x


class EncodecDecoder(nn.Module):
    def __init__(self, config: EncodecConfig):
        super().__init__()
        scaling = 2 ** len(config.upsampling_ratios)
        layers = [EncodecConv1d(config, config.hidden_size, scaling * config.num_filters, config.kernel_size),
                  EncodecLSTM(config, scaling * config.num_filters)]
        for ratio in config.upsampling_ratios:
            scale = scaling * config.num_filters
            layers += [ELU(), EncodecConvTranspose1d(config, scale, scale // 2, kernel_size=ratio * 2, stride=ratio)]
            for j in range(config.num_residual_layers):
                layers.append(EncodecResnetBlock(config, scale // 2, (config.dilation_growth_rate ** j, 1)))
            scaling //= 2
        layers += [ELU(), EncodecConv1d(config, config.num_filters, config.audio_channels, config.last_kernel_size)]
        self.layers = layers

    def __call__(self, x: mx.array) -> mx.array:
        for layer in self.layers:
            x = layer(x)
        return x


class EncodecEuclideanCodebook(nn.Module):
    def __init__(self, config: EncodecConfig):
        super().__init__()
        self.embed = mx.zeros((config.codebook_size, config.codebook_dimension))


class EncodecVectorQuantization(nn.Module):
    def __init__(self, config: EncodecConfig):
        super().__init__()
        self.codebook = EncodecEuclideanCodebook(config)

    def encode(self, x: mx.array) -> mx.array:
        """``x [B, T, D]`` -> nearest codebook entry per frame ``[B, T]``."""
        embed = self.codebook.embed
        dist = -((x * x).sum(-1, keepdims=True) - 2 * (x @ embed.T) + (embed * embed).sum(-1)[None, None])
        return mx.argmax(dist, axis=-1)

    def decode(self, codes: mx.array) -> mx.array:
        return self.codebook.embed[codes]


class EncodecResidualVectorQuantizer(nn.Module):
    def __init__(self, config: EncodecConfig):
        super().__init__()
        self.layers = [EncodecVectorQuantization(config) for _ in range(config.num_quantizers)]

    def encode(self, x: mx.array, num_quantizers: int) -> mx.array:
        """``x [B, T, D]`` -> codes ``[B, Q, T]``."""
        residual = x
        codes = []
        for layer in self.layers[:num_quantizers]:
            indices = layer.encode(residual)
            residual = residual - layer.decode(indices)
            codes.append(indices)
        return mx.stack(codes, axis=1)

    def decode(self, codes: mx.array) -> mx.array:
        """codes ``[B, Q, T]`` -> embeddings ``[B, T, D]``."""
        out = self.layers[0].decode(codes[:, 0])
        for q in range(1, codes.shape[1]):
            out = out + self.layers[q].decode(codes[:, q])
        return out


class EncodecModel(nn.Module):
    def __init__(self, config: EncodecConfig):
        super().__init__()
        self.config = config
        self.encoder = EncodecEncoder(config)
        self.decoder = EncodecDecoder(config)
        self.quantizer = EncodecResidualVectorQuantizer(config)

    def encode(self, audio: mx.array, num_quantizers: int | None = None) -> mx.array:
        """``audio [B, N, C]`` -> codes ``[B, Q, T]`` (Q from the first target bandwidth unless given)."""
        if num_quantizers is None:
            num_quantizers = self.config.quantizers_for_bandwidth()
        return self.quantizer.encode(self.encoder(audio), num_quantizers)

    def decode(self, codes: mx.array) -> mx.array:
        """codes ``[B, K, T]`` -> audio ``[B, T * hop, C]``."""
        return self.decoder(self.quantizer.decode(codes))

    def sanitize(self, weights: dict[str, mx.array]) -> dict[str, mx.array]:
        """Fold weight norm, move kernels to MLX's layout, drop training buffers."""
        out: dict[str, mx.array] = {}
        norm_pairs: dict[str, dict[str, mx.array]] = {}
        for key, value in weights.items():
            if key.endswith(("cluster_size", "embed_avg", "codebook.inited")):
                continue
            for g_name, v_name in ((".parametrizations.weight.original0", ".parametrizations.weight.original1"),
                                   (".weight_g", ".weight_v")):
                if key.endswith(g_name):
                    norm_pairs.setdefault(key[: -len(g_name)], {})["g"] = value
                    break
                if key.endswith(v_name):
                    norm_pairs.setdefault(key[: -len(v_name)], {})["v"] = value
                    break
            else:
                out[key] = value
        for prefix, pair in norm_pairs.items():
            if set(pair) != {"g", "v"}:
                raise ValueError(f"{prefix} has half of a weight-normalised kernel")
            v = pair["v"].astype(mx.float32)
            norm = mx.sqrt((v * v).sum(axis=tuple(range(1, v.ndim)), keepdims=True))
            out[prefix + ".weight"] = pair["g"].astype(mx.float32) * v / norm
        transposed = {f"{name}.conv.weight" for name, module in self.named_modules()
                      if isinstance(module, EncodecConvTranspose1d)}
        for key in list(out):
            if key.endswith("conv.weight") and out[key].ndim == 3:
                # Conv1d [out, in, k] -> [out, k, in]; ConvTranspose1d [in, out, k] -> [out, k, in]
                out[key] = out[key].transpose(1, 2, 0) if key in transposed else out[key].transpose(0, 2, 1)
        return out
