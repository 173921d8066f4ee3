#!/usr/bin/python3
"""Move the state of torch.optim.RMSprop to and from this library's checkpoints.

The checkpoint is the safetensors file that `encodeState(opt)` writes and `decodeState(bytes)`
reads (docs/checkpoints.md has the layout): per parameter `K` (its name, or its index counting
every group's parameters from 0, as torch numbers them) the tensors `K.step` (F64, []),
`K.square_avg`, `K.grad_avg` (centered) and `K.momentum_buffer` (momentum > 0), flat, F32 or
F64 as the parameter; the hyperparameters under the library's option names in
`__metadata__.param_groups`.

This file needs Python 3.8+, torch and numpy only (no `safetensors` package): it writes and
reads the format itself.

Python:

    from torch_rmsprop_state import load, save

    names = [n for n, _ in model.named_parameters()]
    save(optimizer, 'opt.safetensors', names=names)   # torch -> rmsprop
    load(optimizer, 'opt.safetensors', names=names)   # rmsprop -> torch

Command line (no model at hand):

    torch_rmsprop_state.py to-safetensors opt.pt opt.safetensors [--names names.txt] [--trusted]
    torch_rmsprop_state.py to-torch opt.safetensors opt.pt
    torch_rmsprop_state.py inspect opt.safetensors

torch's RMSprop has the options lr, alpha, eps, weight_decay, momentum, centered and maximize;
the library's other options (epsInSqrt, lrInMomentum, nesterov, initialAccumulator,
biasCorrection, decoupledWeightDecay, frozen, a learning-rate schedule) have no torch
counterpart: a group that uses one is refused by `load` and `to-torch`, naming it. The policy
for non-finite gradients (`nonFinite`) and the count of skipped steps have none either: they are
ignored when loading (torch applies every gradient), and written as "apply" and 0 when saving.
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import struct
import sys
import warnings
from decimal import Decimal
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

__all__ = ['save', 'load', 'encode', 'decode', 'to_torch_state_dict', 'Checkpoint', 'ParamState']

FORMAT = 'rmsprop-state'
VERSION = '2'
MAX_HEADER = 100_000_000
"""The largest header read, as safetensors' own reader limits it."""

BUFFERS = ('square_avg', 'grad_avg', 'momentum_buffer')
"""The state buffers, by their names in the file (torch's)."""

TORCH_TO_LIBRARY = {
    'lr': 'lr',
    'alpha': 'alpha',
    'eps': 'eps',
    'weight_decay': 'weightDecay',
    'momentum': 'momentum',
    'centered': 'centered',
    'maximize': 'maximize',
}
"""torch's option names and the library's."""

LIBRARY_ONLY = {
    'epsInSqrt': False,
    'lrInMomentum': False,
    'nesterov': False,
    'initialAccumulator': 0,
    'biasCorrection': False,
    'decoupledWeightDecay': False,
    'frozen': False,
}
"""The library's options torch does not have, at the values that make it torch's RMSprop."""

OPTION_NAMES = list(TORCH_TO_LIBRARY.values()) + list(LIBRARY_ONLY)
"""Every option of the library, in the order it writes them."""

TORCH_IGNORED = ('foreach', 'differentiable', 'capturable', 'fused', 'initial_lr')
"""Keys of a torch group that do not change the update (how it runs, a scheduler's record)."""

DTYPES = {'F32': ('<f4', torch.float32), 'F64': ('<f8', torch.float64)}
"""The dtypes a state's buffers have in the file: numpy's and torch's."""

SIZES = {
    'BOOL': 8, 'U8': 8, 'I8': 8, 'F8_E5M2': 8, 'F8_E4M3': 8, 'F8_E8M0': 8, 'I16': 16, 'U16': 16,
    'F16': 16, 'BF16': 16, 'I32': 32, 'U32': 32, 'F32': 32, 'F64': 64, 'I64': 64, 'U64': 64,
    'C64': 64, 'F4': 4, 'F6_E2M3': 6, 'F6_E3M2': 6,
}
"""Every dtype safetensors defines, with its size in bits (so `inspect` reads any file)."""

SPECIAL_NUMBERS = {'-0': -0.0, 'NaN': math.nan, 'Infinity': math.inf, '-Infinity': -math.inf}
"""The numbers JSON cannot hold, written `{"$number": "-0"}` in param_groups."""

Key = Union[str, int]
Number = Union[int, float]


class ParamState:
    """The saved state of one parameter: its key (name or index), update count and flat buffers."""

    def __init__(self, key: Key, step: int, square_avg: np.ndarray,
                 grad_avg: Optional[np.ndarray] = None,
                 momentum_buffer: Optional[np.ndarray] = None) -> None:
        self.key = key
        self.step = step
        self.square_avg = square_avg
        self.grad_avg = grad_avg
        self.momentum_buffer = momentum_buffer

    def buffers(self) -> Dict[str, np.ndarray]:
        """The buffers that exist, by their names in the file."""
        found = {'square_avg': self.square_avg, 'grad_avg': self.grad_avg,
                 'momentum_buffer': self.momentum_buffer}
        return {k: v for k, v in found.items() if v is not None}

    @property
    def dtype(self) -> str:
        """'F32' or 'F64'."""
        return 'F64' if self.square_avg.dtype == np.float64 else 'F32'


class Checkpoint:
    """What a file holds: the optimizer-wide fields and, per group, its options and parameters."""

    def __init__(self, groups: List[Tuple[Dict[str, Any], List[ParamState]]],
                 non_finite: str = 'apply', skipped_steps: int = 0,
                 updates: Optional[int] = None) -> None:
        self.groups = groups
        self.non_finite = non_finite
        self.skipped_steps = skipped_steps
        steps = [p.step for _, params in groups for p in params]
        self.updates = max(steps, default=0) if updates is None else updates

    def params(self) -> List[ParamState]:
        """Every parameter's state, in torch's global order."""
        return [p for _, params in self.groups for p in params]


# --------------------------------------------------------------------------------------------
# The bytes: JSON as JavaScript writes it, and the safetensors layout.


def _js_number(x: Number) -> str:
    """A finite number as JavaScript's JSON.stringify writes it (shortest round-trip digits)."""
    if isinstance(x, int):
        x = float(x) if abs(x) >= 2 ** 53 else x
        if isinstance(x, int):
            return str(x)
    if x == 0:
        return '0'
    sign, digits, exponent = Decimal(repr(x)).as_tuple()
    text = ''.join(map(str, digits)).rstrip('0')
    exponent += len(digits) - len(text)  # value = text * 10^exponent
    k = len(text)
    n = exponent + k  # the decimal point's position, as ECMAScript's Number::toString has it
    if k <= n <= 21:
        body = text + '0' * (n - k)
    elif 0 < n <= 21:
        body = text[:n] + '.' + text[n:]
    elif -6 < n <= 0:
        body = '0.' + '0' * (-n) + text
    else:
        e = n - 1
        body = (text if k == 1 else text[0] + '.' + text[1:]) + ('e+' if e >= 0 else 'e-') + str(abs(e))
    return ('-' if sign else '') + body


def _js_json(value: Any) -> str:
    """JSON text as JavaScript's JSON.stringify writes it: no spaces, numbers in its notation,
    and -0, NaN and ±Infinity as `{"$number": "-0"}` (as the library writes them)."""
    if value is True:
        return 'true'
    if value is False:
        return 'false'
    if value is None:
        return 'null'
    if isinstance(value, (int, float)):
        if isinstance(value, float) and (not math.isfinite(value) or (value == 0 and math.copysign(1, value) < 0)):
            special = '-0' if value == 0 else 'NaN' if math.isnan(value) else 'Infinity' if value > 0 else '-Infinity'
            return '{"$number":"%s"}' % special
        return _js_number(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return '{' + ','.join(_js_json(str(k)) + ':' + _js_json(v) for k, v in value.items()) + '}'
    if isinstance(value, (list, tuple)):
        return '[' + ','.join(_js_json(v) for v in value) + ']'
    raise TypeError(f'cannot write {value!r} as JSON')


def encode(checkpoint: Checkpoint) -> bytes:
    """The bytes of a checkpoint, laid out as `encodeState` lays them out: the `__metadata__`,
    then per parameter `step` and its buffers, F64 tensors first (each dtype in the parameters'
    order), the header padded with spaces so that the data starts at a multiple of 8."""
    tensors: List[Tuple[str, str, np.ndarray]] = []
    groups = []
    seen = set()
    for hyper, params in checkpoint.groups:
        for p in params:
            key = str(p.key)
            if key in seen:
                raise ValueError(f'two parameters would share the tensors {key}.*: '
                                 f'a name equal to an unnamed parameter\'s index, or a name given twice')
            seen.add(key)
            tensors.append((f'{key}.step', 'F64', np.array(float(p.step), dtype='<f8')))
            for buffer, data in p.buffers().items():
                tensors.append((f'{key}.{buffer}', p.dtype, data))
        groups.append({**hyper, 'params': [p.key for p in params]})
    ordered = [t for t in tensors if t[1] == 'F64'] + [t for t in tensors if t[1] == 'F32']
    header: Dict[str, Any] = {'__metadata__': {
        'format': FORMAT,
        'version': VERSION,
        'nonFinite': checkpoint.non_finite,
        'skippedSteps': str(checkpoint.skipped_steps),
        'updates': str(checkpoint.updates),
        'param_groups': _js_json(groups),
    }}
    chunks = []
    offset = 0
    for name, dtype, data in ordered:
        raw = np.ascontiguousarray(data, dtype=DTYPES[dtype][0]).tobytes()
        shape = [] if data.ndim == 0 else [int(data.size)]
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = _js_json(header).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    return struct.pack('<Q', len(text)) + text + b''.join(chunks)


class FormatError(ValueError):
    """A file that is not a state this library (or this helper) writes, and why."""


def _no_duplicates(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise FormatError(f'the key {k!r} is given twice in one object')
        out[k] = v
    return out


def _no_constant(name: str) -> Any:
    raise FormatError(f'{name} is not JSON')


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except FormatError as e:
        raise FormatError(f'{what}: {e}') from None
    except ValueError as e:
        raise FormatError(f'{what} is not valid JSON ({e})') from None
    except RecursionError:
        raise FormatError(f'{what} is nested too deeply to read') from None


def _special(value: Any, where: str) -> Any:
    """A param_groups value, with `{"$number": "-0"}` (and NaN, ±Infinity) read as the number."""
    if isinstance(value, dict):
        if list(value) == ['$number'] and value['$number'] in SPECIAL_NUMBERS:
            return SPECIAL_NUMBERS[value['$number']]
        raise FormatError(f'{where} is {json.dumps(value)}; expected a number, a boolean, '
                          f'or {{"$number": "-0" | "NaN" | "Infinity" | "-Infinity"}}')
    return value


def _read_header(data: bytes) -> Tuple[Dict[str, Any], int]:
    """The header of a safetensors file, checked, and where its data starts."""
    if len(data) < 8:
        raise FormatError(f'truncated: the file has {len(data)} bytes, fewer than the 8 of the header\'s length')
    (n,) = struct.unpack('<Q', data[:8])
    if n > MAX_HEADER:
        raise FormatError(f'the header\'s length is {n} bytes, over the 100 MB safetensors allows')
    if 8 + n > len(data):
        raise FormatError(f'truncated: the header\'s length is {n} bytes, but the file ends {len(data) - 8} bytes after the length')
    try:
        text = data[8:8 + n].decode('utf-8')
    except UnicodeDecodeError:
        raise FormatError('the header is not UTF-8 text') from None
    header = _parse_json(text, 'the header')
    if not isinstance(header, dict):
        raise FormatError('the header is not a JSON object')
    return header, 8 + n


def _whole(x: Any) -> bool:
    """A JSON whole number (not a boolean)."""
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def _read_tensors(header: Dict[str, Any], data: bytes, start: int) -> Dict[str, Tuple[str, List[int], bytes]]:
    """Every tensor of the header: (dtype, shape, bytes), checked to lie back to back over the data."""
    size = len(data) - start
    spans = []
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        where = f'tensor {name!r}'
        if not isinstance(info, dict) or set(info) != {'dtype', 'shape', 'data_offsets'}:
            raise FormatError(f'{where} is described by {info!r}; expected {{dtype, shape, data_offsets}}')
        dtype, shape, offsets = info['dtype'], info['shape'], info['data_offsets']
        if dtype not in SIZES:
            raise FormatError(f'{where} has the unknown dtype {dtype!r}')
        if not isinstance(shape, list) or not all(_whole(x) for x in shape):
            raise FormatError(f'{where} has the shape {shape!r}; expected a list of whole numbers')
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(_whole(x) for x in offsets):
            raise FormatError(f'{where} has data_offsets {offsets!r}; expected [begin, end], whole numbers')
        begin, end = offsets
        if begin > end or end > size:
            raise FormatError(f'{where} has data_offsets [{begin}, {end}], outside the data region of {size} bytes')
        count = math.prod(shape)
        if (end - begin) * 8 != count * SIZES[dtype]:
            raise FormatError(f'{where} has {end - begin} bytes, but {count} {dtype} elements take {count * SIZES[dtype] / 8:g}')
        spans.append((begin, end, name))
        out[name] = (dtype, shape, data[start + begin:start + end])
    reached = 0
    for begin, end, name in sorted(spans):
        if begin != reached:
            raise FormatError(f'tensor {name!r} (bytes {begin} to {end}) overlaps the tensor before it'
                              if begin < reached else f'the data has a gap of {begin - reached} bytes before tensor {name!r}')
        reached = end
    if reached != size:
        raise FormatError(f'the tensors end at byte {reached} of the data, but the data has {size} bytes')
    return out


def decode(data: bytes) -> Checkpoint:
    """Reads the bytes of a state file (from `encodeState` or `encode`), checked as `decodeState`
    checks it. Raises FormatError naming what is wrong."""
    header, start = _read_header(data)
    meta = header.get('__metadata__')
    if not isinstance(meta, dict):
        raise FormatError('the header has no __metadata__ object: not a state written by encodeState or this helper')
    for k, v in meta.items():
        if not isinstance(v, str):
            raise FormatError(f'__metadata__.{k} is {v!r}; safetensors metadata values are strings')
    for k in ('format', 'version', 'nonFinite', 'skippedSteps', 'updates', 'param_groups'):
        if k not in meta:
            raise FormatError(f'__metadata__ has no {k}: not a state written by encodeState or this helper')
    if meta['format'] != FORMAT:
        raise FormatError(f'__metadata__.format is {meta["format"]!r}; expected {FORMAT!r}')
    if meta['version'] != VERSION:
        raise FormatError(f'__metadata__.version is {meta["version"]!r}; this helper reads version {VERSION!r}')
    if meta['nonFinite'] not in ('throw', 'skip', 'apply'):
        raise FormatError(f'__metadata__.nonFinite is {meta["nonFinite"]!r}; expected "throw", "skip" or "apply"')
    counts = {}
    for k in ('skippedSteps', 'updates'):
        if not (meta[k].isascii() and meta[k].isdigit() and (meta[k] == '0' or meta[k][0] != '0')) or int(meta[k]) > 2 ** 52:
            raise FormatError(f'__metadata__.{k} is {meta[k]!r}; expected a whole number from 0 to 2^52 in decimal')
        counts[k] = int(meta[k])
    groups_json = _parse_json(meta['param_groups'], '__metadata__.param_groups')
    if not isinstance(groups_json, list):
        raise FormatError('__metadata__.param_groups is not a JSON array of groups')
    tensors = _read_tensors(header, data, start)
    used = set()
    seen = set()
    groups = []
    for gi, g in enumerate(groups_json):
        where = f'__metadata__.param_groups[{gi}]'
        if not isinstance(g, dict):
            raise FormatError(f'{where} is {g!r}; expected an object')
        if not isinstance(g.get('params'), list):
            raise FormatError(f'{where}.params is missing or not a list of names and indices')
        hyper = {k: _special(v, f'{where}.{k}') for k, v in g.items() if k != 'params'}
        params = []
        for key in g['params']:
            ok = (isinstance(key, str) and key != '') or (isinstance(key, int) and not isinstance(key, bool) and 0 <= key < 2 ** 53)
            if not ok:
                raise FormatError(f'{where}.params holds {key!r}; expected a parameter\'s name or index')
            if str(key) in seen:
                raise FormatError(f'{where}.params holds {key!r}, which names a parameter already listed')
            seen.add(str(key))
            params.append(_read_param(key, tensors, used))
        groups.append((hyper, params))
    stray = [name for name in tensors if name not in used]
    if stray:
        raise FormatError(f'tensor {stray[0]!r} belongs to no parameter of __metadata__.param_groups')
    return Checkpoint(groups, meta['nonFinite'], counts['skippedSteps'], counts['updates'])


def _read_param(key: Key, tensors: Mapping[str, Tuple[str, List[int], bytes]], used: set) -> ParamState:
    """One parameter's tensors, as flat numpy arrays (copies, writable)."""
    k = str(key)
    if f'{k}.step' not in tensors:
        raise FormatError(f'parameter {k!r} has no tensor {k + ".step"!r}')
    dtype, shape, raw = tensors[f'{k}.step']
    used.add(f'{k}.step')
    scalar = {'F64': '<f8', 'F32': '<f4', 'I64': '<i8', 'I32': '<i4'}
    if dtype not in scalar or math.prod(shape) != 1:
        raise FormatError(f'tensor {k + ".step"!r} is {dtype} of shape {shape}; expected one F64 value')
    step = np.frombuffer(raw, dtype=scalar[dtype])[0].item()
    if not (float(step).is_integer() and 0 <= step <= 2 ** 52):
        raise FormatError(f'tensor {k + ".step"!r} holds {step!r}; expected a whole number from 0 to 2^52')
    buffers: Dict[str, np.ndarray] = {}
    for b in BUFFERS:
        name = f'{k}.{b}'
        if name not in tensors:
            continue
        used.add(name)
        dtype, shape, raw = tensors[name]
        if dtype not in DTYPES:
            raise FormatError(f'tensor {name!r} is {dtype}; expected F32 or F64')
        buffers[b] = np.frombuffer(raw, dtype=DTYPES[dtype][0]).astype(DTYPES[dtype][0])  # a writable copy
    if 'square_avg' not in buffers:
        raise FormatError(f'parameter {k!r} has no tensor {k + ".square_avg"!r}')
    first = buffers['square_avg']
    for b, a in buffers.items():
        if a.dtype != first.dtype or a.size != first.size:
            raise FormatError(f'tensor {k + "." + b!r} is {a.dtype} of {a.size} elements, '
                              f'but {k + ".square_avg"!r} is {first.dtype} of {first.size}')
    return ParamState(key, int(step), first, buffers.get('grad_avg'), buffers.get('momentum_buffer'))


# --------------------------------------------------------------------------------------------
# torch -> checkpoint


def _number(value: Any, where: str) -> Number:
    """A torch hyperparameter as a plain int or float (a one-element tensor's value)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f'{where} is {value!r}; expected a number')
    return value


def _library_options(group: Mapping[str, Any], gi: int) -> Dict[str, Any]:
    """A torch group's options under the library's names, refusing what the library cannot hold."""
    out: Dict[str, Any] = {}
    for torch_name, name in TORCH_TO_LIBRARY.items():
        where = f'param_groups[{gi}][{torch_name!r}]'
        if torch_name not in group:
            if torch_name in ('maximize', 'centered', 'momentum'):  # torch's own defaults (older state dicts)
                out[name] = 0 if torch_name == 'momentum' else False
                continue
            raise ValueError(f'{where} is missing: not a torch.optim.RMSprop state')
        v = group[torch_name]
        if torch_name in ('centered', 'maximize'):
            if not isinstance(v, bool):
                raise ValueError(f'{where} is {v!r}; expected True or False')
            out[name] = v
            continue
        x = _number(v, where)
        ok, allowed = {
            'lr': (0 <= x < math.inf, 'a finite number >= 0'),
            'alpha': (0 <= x < 1, 'a number in [0, 1)'),
            'eps': (0 < x < math.inf, 'a finite number > 0'),
            'weight_decay': (0 <= x < math.inf, 'a finite number >= 0'),
            'momentum': (0 <= x < 1, 'a number in [0, 1)'),
        }[torch_name]
        if not ok:
            raise ValueError(f'{where} is {x!r}: the rmsprop library needs {allowed}')
        out[name] = x
    for key in group:
        if key != 'params' and key not in TORCH_TO_LIBRARY and key not in TORCH_IGNORED:
            warnings.warn(f'param_groups[{gi}][{key!r}] is not an RMSprop option: it is not saved', stacklevel=3)
    out.update(LIBRARY_ONLY)
    return out


def _flat(t: Any, where: str) -> np.ndarray:
    """A state tensor as a flat little-endian numpy array (float32 or float64 only)."""
    if not isinstance(t, torch.Tensor):
        raise ValueError(f'{where} is {type(t).__name__}; expected a tensor')
    if t.dtype not in (torch.float32, torch.float64):
        raise ValueError(f'{where} is {t.dtype}: the format holds float32 and float64 states only')
    return t.detach().cpu().contiguous().reshape(-1).numpy().copy()


def from_torch_state_dict(state_dict: Mapping[str, Any], names: Optional[Sequence[Optional[str]]] = None,
                          params: Optional[Sequence[torch.Tensor]] = None) -> Checkpoint:
    """A checkpoint from `optimizer.state_dict()` of a `torch.optim.RMSprop`.

    `names`: one per parameter in torch's global order (`None` for one without a name: its index
    is its key). `params`: the parameters themselves, in the same order; they give the size and
    type of a parameter that has no state yet (never stepped: written with step 0 and zero
    buffers) and are checked against the state. Without them such a parameter is refused."""
    groups_in = state_dict['param_groups']
    state = state_dict['state']
    order = [i for g in groups_in for i in g['params']]
    if names is not None:
        names = list(names)
        if len(names) != len(order):
            raise ValueError(f'names has {len(names)} entries, but the optimizer has {len(order)} parameters')
        for n in names:
            if n is not None and (not isinstance(n, str) or n == ''):
                raise ValueError(f'names holds {n!r}; expected non-empty strings (or None)')
    if params is not None and len(params) != len(order):
        raise ValueError(f'{len(params)} parameters given for {len(order)} in the state dict')
    unknown = [k for k in state if k not in order]
    if unknown:
        raise ValueError(f'the state holds parameter {unknown[0]!r}, which no group lists')
    groups = []
    position = 0
    for gi, g in enumerate(groups_in):
        hyper = _library_options(g, gi)
        out = []
        for index in g['params']:
            key: Key = names[position] if names is not None and names[position] is not None else position
            live = params[position] if params is not None else None
            out.append(_param_from_torch(state.get(index, {}), key, hyper, live, f'state[{index}]'))
            position += 1
        groups.append((hyper, out))
    return Checkpoint(groups, non_finite='apply', skipped_steps=0)


def _param_from_torch(s: Mapping[str, Any], key: Key, hyper: Mapping[str, Any],
                      live: Optional[torch.Tensor], where: str) -> ParamState:
    unknown = [k for k in s if k not in ('step',) + BUFFERS]
    if unknown:
        raise ValueError(f'{where} holds {unknown[0]!r}, which this format does not hold')
    if len(s) == 0:
        if live is None:
            raise ValueError(f'{where} is empty (the parameter was never stepped) and its size is unknown: '
                             f'save() the live optimizer instead of converting its state_dict')
        if live.dtype not in (torch.float32, torch.float64):
            raise ValueError(f'parameter {key!r} is {live.dtype}: the format holds float32 and float64 states only')
        zeros = np.zeros(live.numel(), dtype='<f8' if live.dtype == torch.float64 else '<f4')
        return ParamState(key, 0, zeros, zeros.copy() if hyper['centered'] else None,
                          zeros.copy() if hyper['momentum'] > 0 else None)
    if 'step' not in s or 'square_avg' not in s:
        raise ValueError(f'{where} has no {"step" if "step" not in s else "square_avg"}: not an RMSprop state')
    step = s['step']
    step = step.item() if isinstance(step, torch.Tensor) else step
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not float(step).is_integer() or not 0 <= step <= 2 ** 52:
        raise ValueError(f'{where}["step"] is {step!r}; expected a whole number from 0 to 2^52')
    buffers = {b: _flat(s[b], f'{where}[{b!r}]') for b in BUFFERS if b in s}
    first = buffers['square_avg']
    for b, a in buffers.items():
        if a.dtype != first.dtype or a.size != first.size:
            raise ValueError(f'{where}[{b!r}] is {a.dtype} of {a.size} elements, but square_avg is {first.dtype} of {first.size}')
    if live is not None and (live.numel() != first.size or live.dtype != (torch.float64 if first.dtype == np.float64 else torch.float32)):
        raise ValueError(f'{where}["square_avg"] is {first.dtype} of {first.size} elements, '
                         f'but the parameter is {live.dtype} of {live.numel()}')
    # A buffer the options need that torch has not made (centered or momentum switched on after
    # the first step: torch's step would fail) starts at zero, as in the library.
    if hyper['centered'] and 'grad_avg' not in buffers:
        buffers['grad_avg'] = np.zeros_like(first)
    if hyper['momentum'] > 0 and 'momentum_buffer' not in buffers:
        buffers['momentum_buffer'] = np.zeros_like(first)
    return ParamState(key, int(step), first, buffers.get('grad_avg'), buffers.get('momentum_buffer'))


def save(optimizer: torch.optim.Optimizer, path: str, names: Optional[Sequence[Optional[str]]] = None) -> None:
    """Writes the state of a `torch.optim.RMSprop` to `path` as the library's safetensors file.

    `names`: the parameters' names in torch's global order, e.g.
    `[n for n, _ in model.named_parameters()]` when the optimizer was built over
    `model.parameters()`; without names each parameter's key is its index.

    Raises ValueError naming the group and option the library cannot hold (eps 0, alpha or
    momentum >= 1, a non-float parameter)."""
    params = [p for g in optimizer.param_groups for p in g['params']]
    checkpoint = from_torch_state_dict(optimizer.state_dict(), names, params)
    with open(path, 'wb') as f:
        f.write(encode(checkpoint))


# --------------------------------------------------------------------------------------------
# checkpoint -> torch


@functools.lru_cache(maxsize=None)
def _torch_step_dtype() -> Optional[torch.dtype]:
    """How this torch's RMSprop keeps `step`: None for a Python int (torch 1.x), else the dtype
    of its 0-d tensor (torch 2.x: float32). Found by stepping a one-element optimizer."""
    p = torch.zeros(1, requires_grad=True)
    p.grad = torch.zeros(1)
    opt = torch.optim.RMSprop([p])
    opt.step()
    step = opt.state[p]['step']
    return step.dtype if isinstance(step, torch.Tensor) else None


def _torch_step(step: int, like: Any = None) -> Any:
    """`step` as torch keeps it: as `like` (a step of the optimizer loaded into), else as this
    torch's RMSprop makes it."""
    if like is None:
        dtype = _torch_step_dtype()
    else:
        dtype = like.dtype if isinstance(like, torch.Tensor) else None
    return int(step) if dtype is None else torch.tensor(float(step), dtype=dtype)


def _torch_options(hyper: Mapping[str, Any], gi: int) -> Dict[str, Any]:
    """A group's options under torch's names, refusing what torch's RMSprop cannot reproduce."""
    where = f'param_groups[{gi}]'
    unknown = [k for k in hyper if k not in OPTION_NAMES]
    if unknown:
        raise ValueError(f'{where} has the unknown option {unknown[0]!r}; the options are {", ".join(OPTION_NAMES)}')
    if hyper.get('lr') == 'schedule':
        raise ValueError(f'{where} has lr "schedule" (a learning-rate function in the library): torch\'s '
                         f'RMSprop has a number; set lr to a number before saving, or give torch a scheduler')
    for name, neutral in LIBRARY_ONLY.items():
        v = hyper.get(name, neutral)
        if v != neutral or isinstance(v, bool) != isinstance(neutral, bool):
            raise ValueError(f'{where} has {name} {json.dumps(v)}, which torch.optim.RMSprop cannot reproduce '
                             f'(it has no {name} option: only {json.dumps(neutral)} loads)')
    out = {}
    for torch_name, name in TORCH_TO_LIBRARY.items():
        if name not in hyper:
            raise ValueError(f'{where} has no {name}')
        v = hyper[name]
        if torch_name in ('centered', 'maximize') and not isinstance(v, bool):
            raise ValueError(f'{where}.{name} is {v!r}; expected true or false')
        if torch_name not in ('centered', 'maximize') and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise ValueError(f'{where}.{name} is {v!r}; expected a number')
        out[torch_name] = v
    return out


def _torch_buffers(p: ParamState, hyper: Mapping[str, Any], gi: int, i: int) -> None:
    """Refuses a parameter without a buffer its group's options need."""
    if hyper['centered'] and p.grad_avg is None:
        raise ValueError(f'parameter {p.key!r} (group {gi}, position {i}) has no grad_avg, which centered needs')
    if hyper['momentum'] > 0 and p.momentum_buffer is None:
        raise ValueError(f'parameter {p.key!r} (group {gi}, position {i}) has no momentum_buffer, which momentum {hyper["momentum"]} needs')


def _is_fresh(p: ParamState) -> bool:
    """Step 0 and every buffer zero: what torch has before a parameter's first step (no state)."""
    return p.step == 0 and all(not np.any(a) for a in p.buffers().values())


def to_torch_state_dict(checkpoint: Checkpoint) -> Dict[str, Any]:
    """A torch RMSprop state dict of a checkpoint, with flat buffers (no parameters to take shapes
    from), `step` as this torch's RMSprop keeps it, and parameters that never stepped left out.
    Refuses a group whose options torch cannot reproduce."""
    state: Dict[int, Dict[str, Any]] = {}
    groups = []
    position = 0
    for gi, (hyper, params) in enumerate(checkpoint.groups):
        options = _torch_options(hyper, gi)
        indices = []
        for i, p in enumerate(params):
            _torch_buffers(p, options, gi, i)
            if not _is_fresh(p):
                entry: Dict[str, Any] = {'step': _torch_step(p.step)}
                for name, data in p.buffers().items():
                    entry[name] = torch.from_numpy(data.copy())
                state[position] = entry
            indices.append(position)
            position += 1
        groups.append({'lr': options['lr'], 'momentum': options['momentum'], 'alpha': options['alpha'],
                       'eps': options['eps'], 'centered': options['centered'],
                       'weight_decay': options['weight_decay'], 'foreach': None,
                       'maximize': options['maximize'], 'differentiable': False, 'params': indices})
    return {'state': state, 'param_groups': groups}


def load(optimizer: torch.optim.Optimizer, path: str, names: Optional[Sequence[Optional[str]]] = None) -> None:
    """Loads a state file written by the library's `encodeState` (or by `save`) into a
    `torch.optim.RMSprop` built over the same parameters, in the same groups.

    Checked first, nothing loaded otherwise (ValueError naming what differs): the file's format
    and version, the number of groups and of parameters per group, the names when `names` is
    given (one per parameter in torch's global order; without it parameters are matched by
    position), each buffer's dtype (the parameter's) and element count (its numel), the buffers
    the options need, and options torch can reproduce. Buffers are reshaped to the parameters'
    shapes; the groups' torch-only keys (foreach, ...) are kept."""
    with open(path, 'rb') as f:
        checkpoint = decode(f.read())
    groups = optimizer.param_groups
    if len(checkpoint.groups) != len(groups):
        raise ValueError(f'the file has {len(checkpoint.groups)} parameter groups, the optimizer {len(groups)}')
    total = sum(len(g['params']) for g in groups)
    if names is not None:
        names = list(names)
        if len(names) != total:
            raise ValueError(f'names has {len(names)} entries, but the optimizer has {total} parameters')
    state: Dict[int, Dict[str, Any]] = {}
    saved_groups = []
    position = 0
    for gi, ((hyper, params), group) in enumerate(zip(checkpoint.groups, groups)):
        if len(params) != len(group['params']):
            raise ValueError(f'group {gi} of the file has {len(params)} parameters, the optimizer\'s {len(group["params"])}')
        options = _torch_options(hyper, gi)
        indices = []
        for i, (p, live) in enumerate(zip(params, group['params'])):
            where = f'parameter {p.key!r} (group {gi}, position {i})'
            want: Key = position if names is None or names[position] is None else names[position]
            if names is not None and p.key != want:
                raise ValueError(f'group {gi}, position {i}: the file has parameter {p.key!r}, names has {want!r}')
            if names is None and isinstance(p.key, int) and p.key != position:
                raise ValueError(f'group {gi}, position {i}: the file has parameter index {p.key}, expected {position}')
            dtype = DTYPES[p.dtype][1]
            if live.dtype != dtype:
                raise ValueError(f'{where} is {p.dtype} in the file, but the parameter is {live.dtype}')
            if live.numel() != p.square_avg.size:
                raise ValueError(f'{where} has {p.square_avg.size} elements in the file, but the parameter has '
                                 f'{live.numel()} (shape {tuple(live.shape)})')
            _torch_buffers(p, options, gi, i)
            if not _is_fresh(p):
                current = optimizer.state.get(live, {}).get('step')
                entry: Dict[str, Any] = {'step': _torch_step(p.step, current)}
                for name, data in p.buffers().items():
                    entry[name] = torch.from_numpy(data.copy()).reshape(live.shape).to(live.device)
                state[position] = entry
            indices.append(position)
            position += 1
        # The group's own keys (foreach, a scheduler's initial_lr, ...) kept, in torch's order.
        saved = {k: options.get(k, v) for k, v in group.items() if k != 'params'}
        saved.update(options)
        saved_groups.append({**saved, 'params': indices})
    optimizer.load_state_dict({'state': state, 'param_groups': saved_groups})


# --------------------------------------------------------------------------------------------
# Command line


def _torch_load(path: str, trusted: bool) -> Any:
    """torch.load with torch's weights-only unpickler (it runs no code from the file), or, when
    `trusted`, with the full one (torch 1.x's weights-only unpickler cannot read floats)."""
    if trusted:
        return torch.load(path, map_location='cpu')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except TypeError:  # a torch without weights_only
        raise ValueError(f'{path}: this torch cannot load a file without running its code; '
                         f'pass --trusted if you trust the file') from None
    except Exception as e:  # pickle.UnpicklingError and what torch raises around it
        reason = str(e)
        reason = reason[reason.find('WeightsUnpickler error:'):] if 'WeightsUnpickler error:' in reason else reason[-200:]
        raise ValueError(f'{path}: torch\'s weights-only loader refused it ({reason.strip()}); '
                         f'pass --trusted to unpickle it in full (it can run code: only for files you trust)') from None


def _count(n: int, what: str) -> str:
    return f'{n} {what}' + ('' if n == 1 else 's')


def _read_names(path: str) -> List[Optional[str]]:
    """A JSON array of names (null for none), or one name per line."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    if text.lstrip().startswith('['):
        names = json.loads(text)
        if not isinstance(names, list):
            raise ValueError(f'{path}: expected a JSON array of names')
        return names
    return [line for line in text.splitlines() if line.strip() != '']


def _inspect(path: str) -> None:
    with open(path, 'rb') as f:
        data = f.read()
    header, start = _read_header(data)
    tensors = _read_tensors(header, data, start)
    meta = header.get('__metadata__', {})
    print(f'{path}: {len(data)} bytes, header {start - 8} bytes, {len(tensors)} tensors')
    for k, v in meta.items():
        if k == 'param_groups':
            try:
                groups = _parse_json(v, '__metadata__.param_groups')
            except FormatError:
                groups = None  # printed as it is; decode() below says what is wrong with it
            if isinstance(groups, list) and all(isinstance(g, dict) for g in groups):
                print('param_groups:')
                for gi, g in enumerate(groups):
                    params = g.pop('params', [])
                    print(f'  [{gi}] params {json.dumps(params)}')
                    print(f'      {json.dumps(g)}')
                continue
        shown = v if len(v) <= 200 else f'{v[:200]}... ({len(v)} characters)'
        print(f'{k}: {shown}')
    width = max((len(n) for n in tensors), default=0)
    for name, (dtype, shape, raw) in sorted(tensors.items(), key=lambda t: header[t[0]]['data_offsets'][0]):
        begin, end = header[name]['data_offsets']
        line = f'  {name:<{width}}  {dtype:<4} {str(shape):<10} [{begin}, {end})'
        if dtype in ('F32', 'F64'):
            values = np.frombuffer(raw, dtype=DTYPES[dtype][0])
            preview = ', '.join(f'{x:.6g}' for x in values[:4]) + (', ...' if values.size > 4 else '')
            line += f'  [{preview}]' if shape else f'  {values[0]:.17g}'
        print(line)
    try:
        decode(data)
        print('a valid rmsprop state')
    except FormatError as e:
        print(f'not a valid rmsprop state: {e}')


HELP_DESCRIPTION = """\
Convert torch.optim.RMSprop state to and from the rmsprop library's safetensors
checkpoints (encodeState / decodeState; docs/checkpoints.md has the format).
Needs torch and numpy only."""

HELP_EPILOG = """\
examples:
  torch_rmsprop_state.py to-safetensors opt.pt opt.safetensors --names names.txt --trusted
  torch_rmsprop_state.py to-torch opt.safetensors opt.pt
  torch_rmsprop_state.py inspect opt.safetensors

In Python, with the optimizer at hand, import the module instead:

  from torch_rmsprop_state import load, save
  names = [n for n, _ in model.named_parameters()]
  save(optimizer, 'opt.safetensors', names=names)  # torch -> rmsprop
  load(optimizer, 'opt.safetensors', names=names)  # rmsprop -> torch

load() reshapes every buffer to its parameter's shape and checks the file against
the parameters (groups, counts, names, dtypes, sizes). to-torch has no parameters:
its state dict holds flat buffers; reshape them to the parameters' shapes before
stepping, or use load(). A group using an option torch's RMSprop lacks (epsInSqrt,
lrInMomentum, nesterov, initialAccumulator, biasCorrection, decoupledWeightDecay,
frozen, an lr schedule) is refused, naming it."""


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog='torch_rmsprop_state.py',
        description=HELP_DESCRIPTION,
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    a = sub.add_parser('to-safetensors', help='torch.save(optimizer.state_dict()) file -> rmsprop state',
                       description='Convert IN.pt, a torch.save(optimizer.state_dict()) of a torch.optim.RMSprop, '
                                   'to OUT.safetensors. A parameter with no state (never stepped) cannot be '
                                   'converted without the parameters (its size is unknown): use save() for that.')
    a.add_argument('input', metavar='IN.pt')
    a.add_argument('output', metavar='OUT.safetensors')
    a.add_argument('--trusted', action='store_true',
                   help='unpickle IN.pt in full (it can run code): needed with torch 1.x, whose weights-only '
                        'loader cannot read a state dict\'s floats; only for files you trust')
    a.add_argument('--names', metavar='FILE',
                   help='the parameters\' names in torch\'s global order: one per line, or a JSON array '
                        '(null for none); without it each parameter is written under its index')
    b = sub.add_parser('to-torch', help='rmsprop state -> torch optimizer state_dict (.pt)',
                       description='Convert IN.safetensors (from encodeState) to OUT.pt, a state dict for '
                                   'torch.optim.RMSprop.load_state_dict. The buffers are flat (the file has no '
                                   'shapes): reshape them to the parameters\' shapes, or use load(optimizer, path), '
                                   'which does. Names are dropped: torch matches parameters by position.')
    b.add_argument('input', metavar='IN.safetensors')
    b.add_argument('output', metavar='OUT.pt')
    c = sub.add_parser('inspect', help='print the metadata and tensors of a file',
                       description='Print the metadata and every tensor of a safetensors file, and whether it '
                                   'is a valid rmsprop state.')
    c.add_argument('file', metavar='FILE')
    args = parser.parse_args(argv)
    try:
        if args.command == 'to-safetensors':
            names = _read_names(args.names) if args.names else None
            checkpoint = from_torch_state_dict(_torch_load(args.input, args.trusted), names)
            with open(args.output, 'wb') as f:
                f.write(encode(checkpoint))
            print(f'wrote {args.output}: {_count(len(checkpoint.params()), "parameter")} in {_count(len(checkpoint.groups), "group")}')
        elif args.command == 'to-torch':
            with open(args.input, 'rb') as f:
                checkpoint = decode(f.read())
            torch.save(to_torch_state_dict(checkpoint), args.output)
            print(f'wrote {args.output}: {_count(len(checkpoint.params()), "parameter")} in {_count(len(checkpoint.groups), "group")} (flat buffers)')
        else:
            _inspect(args.input if hasattr(args, 'input') else args.file)
    except (ValueError, OSError) as e:
        print(f'{parser.prog}: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
