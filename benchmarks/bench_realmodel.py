"""Real-model run time and memory (docs/real_model.md quotes these figures).

    python benchmarks/bench_realmodel.py blas          # one MiniLM sequence: BLAS threads vs one
    python benchmarks/bench_realmodel.py phases [--verdicts]  # CPU seconds per phase of the default run, from
                                                       # one sequence per initialisation (no worker start-up)
    python benchmarks/bench_realmodel.py minilm        # the default run (32 x 128, 8 variants), --jobs 2
    python benchmarks/bench_realmodel.py bert-base [N] # a random BERT-base-size checkpoint (hidden 768, 12 layers),
                                                       # N sequences (default 32) x 128 tokens, the default run
    python benchmarks/bench_realmodel.py architectures [DIR]  # each architecture at base size, random init

Each prints wall time, CPU time and peak resident memory of the whole process tree (the
command, its forkserver and the workers: psutil, in the realmodel extra) side by side, and the
load average it ran under. ``bert-base`` writes a
random checkpoint at BERT's own initialisation (float32 safetensors, 110M parameters) to a
temporary folder (transformers' ``BertConfig()`` defaults, ``save_pretrained``) and runs
``real-model --model DIR --input-ids FILE --jobs 2`` on it.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _tree(proc) -> list:
    """``proc`` and all its descendants: the command's main process, its forkserver and the
    forkserver's workers (grandchildren, which ``RUSAGE_CHILDREN`` never sees)."""
    import psutil

    try:
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _peak_rss(pid: int) -> int:
    """The kernel's own peak resident size of one process (``VmHWM``, Linux), in bytes; 0 elsewhere."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _run(argv, interval: float = 0.1):
    """Run ``real-model argv``; returns ``(exit code, wall s, CPU s, peak summed RSS MB, summed
    per-process peaks MB, processes)`` over the whole process tree, read with psutil every
    ``interval`` seconds: CPU is each process's last reading (at most ``interval`` of CPU per
    process is missed, at its exit), "peak summed RSS" the largest sum over one reading (a
    spike shorter than ``interval`` can be missed), and "summed per-process peaks" adds each
    process's ``VmHWM``: an upper bound on the resident memory the processes ever held at once."""
    import psutil

    t = time.perf_counter()
    proc = psutil.Popen([sys.executable, "-m", "rankcollapse.realmodel", *argv], stdout=subprocess.DEVNULL)
    cpu, peaks, peak_sum = {}, {}, 0
    while proc.poll() is None:
        total = 0
        for p in _tree(proc):
            try:
                with p.oneshot():
                    times, rss = p.cpu_times(), p.memory_info().rss
            except psutil.Error:  # it exited between the listing and the reading
                continue
            cpu[p.pid] = times.user + times.system
            peaks[p.pid] = max(peaks.get(p.pid, 0), rss, _peak_rss(p.pid))
            total += rss
        peak_sum = max(peak_sum, total)
        time.sleep(interval)
    wall = time.perf_counter() - t
    return proc.returncode, wall, sum(cpu.values()), peak_sum / 2**20, sum(peaks.values()) / 2**20, len(cpu)


def _figures(wall, cpu, rss, peaks, processes, load) -> str:
    return (f"wall {wall:.1f} s, CPU {cpu:.1f} s ({processes} processes), peak RSS summed over the processes "
            f"{rss:.0f} MB (sum of each process's own peak {peaks:.0f} MB), load average {load:.1f} before, "
            f"{os.getloadavg()[0]:.1f} after")


def blas():
    from threadpoolctl import threadpool_limits

    from rankcollapse.realmodel import measure as m

    model = m.open_model(None)
    ids = m.token_ids(model, 1, 128)[0]
    m._blocks(model.folder, "pretrained", 0)
    rows = []
    for label, limit in (("BLAS default threads", None), ("one BLAS thread", 1)):
        with threadpool_limits(limits=limit, user_api="blas"):
            t, c = time.perf_counter(), time.process_time()
            m._sequence(model.folder, "pretrained", 0, ids, False, False, [], 0, False)
            rows.append((label, time.perf_counter() - t, time.process_time() - c))
    for label, wall, cpu in rows:
        print(f"{label:>22}: wall {wall:7.2f} s   cpu {cpu:7.2f} s   (one sequence, 4 variants)")
    print(f"{'ratio':>22}: wall {rows[0][1] / rows[1][1]:7.2f}     cpu {rows[0][2] / rows[1][2]:7.2f}")


def phases():
    """CPU seconds of each phase on one sequence per initialisation, times the number of times the
    default run does it: where the run's CPU time goes (``time.process_time``, one BLAS thread)."""
    import numpy as np

    from rankcollapse.numerics import architectures as arch
    from rankcollapse.numerics.network import forward_split
    from rankcollapse.numerics.residual import residual_bracket
    from rankcollapse.realmodel import measure as m

    model = m.open_model(None)
    ids = m.token_ids(model, 32, 128)
    config = model.config
    specs = m._draw_paths(np.random.default_rng(0), 32, config, list(m.PATH_LENGTHS), 64)
    rows, cost = [], {}

    def clock(label, count, fn, *args):
        t = time.process_time()
        out = fn(*args)
        cost[label] = cost.get(label, 0.0) + (time.process_time() - t) * count
        return out

    with m.one_blas_thread():
        import rankcollapse.numerics.bounds  # noqa: F401  (its import, sympy, is a worker start-up cost)
        for init in m.INITS:
            clock("load weights (per worker)", 2 / 2, m._blocks, model.folder, init, 0)
            X0 = arch.embed(*m._blocks(model.folder, init, 0)[:2], ids[0])
            for name in arch.VARIANTS:
                net = arch.variant(config, m._blocks(model.folder, init, 0)[2], name)
                outputs = clock("forward passes (float64 split)", 32, forward_split, m.ctx, net, X0)
                clock("token-mean ratios", 32, lambda: [m.ratios(Z, False) for Z in outputs])
                clock("r brackets (fast, every layer)", 32,
                      lambda: [residual_bracket(m.ctx, Z.R, exact=False) for Z in outputs[1:]])
                # (both include the token-mean ratios above the double range: a small overcount)
                values = clock("values below doubles (long doubles, the other sequences)", 32 - m.BALLS_SEQUENCES,
                               m.variant_values, net, outputs, False, False)
                if m.BALLS_SEQUENCES:  # (the default, 0: nothing in balls)
                    clock(f"values below doubles (balls, first {m.BALLS_SEQUENCES} sequences)",
                          m.BALLS_SEQUENCES, m.variant_values, net, outputs, False, True)
                if name == "full":
                    path_rows = [(k, i, l, h) for k, r in specs.items() for i, (t, l, h) in enumerate(r) if t == 0]
                    clock("attention paths", 32, m._attention_paths, config, net, outputs, path_rows, 0)
                if name == "pure-attention" and init == "pretrained":
                    m._san(model.folder, init, 0)
                    clock("explicit bounds (float64)", 32, m._explicit_bounds, model.folder, init, 0, ids[0], X0,
                          outputs)
            rows.append(values)
        if "--verdicts" in sys.argv:  # opt-in in the command too: minutes of CPU
            clock("verdicts (balls, sequence 0): E4 and published", 1, m._san_verdicts, model.folder, 0, ids[0])
            for l in range(1, config.layers + 1):
                clock("verdicts (balls, sequence 0): E2 per layer", 1, m._one_step_verdict, model.folder, 0, ids[0], l)
    for label, seconds in cost.items():
        print(f"{label:>55}: {seconds:7.1f} CPU s")
    total = sum(cost.values())
    print(f"{'total':>55}: {total:7.1f} CPU s = {total / 2:.1f} s on 2 busy cores; load average "
          f"{os.getloadavg()[0]:.1f}")


def minilm():
    load = os.getloadavg()[0]
    rc, *figures = _run(["--jobs", "2"])
    print(f"MiniLM default run, --jobs 2: exit {rc}, {_figures(*figures, load)}")


# base-size configurations of each architecture (BERT-base, RoBERTa-base, ALBERT-base, DistilBERT,
# GPT-2 small, XLNet-base), as their config.json files would state them
BASE = {
    "bert": {"hidden_size": 768, "num_attention_heads": 12, "num_hidden_layers": 12, "intermediate_size": 3072,
             "vocab_size": 30522, "max_position_embeddings": 512},
    "roberta": {"hidden_size": 768, "num_attention_heads": 12, "num_hidden_layers": 12, "intermediate_size": 3072,
                "vocab_size": 50265, "max_position_embeddings": 514, "type_vocab_size": 1, "pad_token_id": 1,
                "layer_norm_eps": 1e-5},
    "albert": {"hidden_size": 768, "embedding_size": 128, "num_attention_heads": 12, "num_hidden_layers": 12,
               "intermediate_size": 3072, "vocab_size": 30000, "max_position_embeddings": 512,
               "hidden_act": "gelu_new"},
    "distilbert": {"dim": 768, "n_heads": 12, "n_layers": 6, "hidden_dim": 3072, "vocab_size": 30522,
                   "max_position_embeddings": 512},
    "gpt2": {"n_embd": 768, "n_head": 12, "n_layer": 12, "vocab_size": 50257, "n_positions": 1024},
    "xlnet": {"d_model": 768, "n_head": 12, "n_layer": 12, "d_inner": 3072, "vocab_size": 32000},
}


def _random_checkpoint(kind: str, folder: Path) -> None:
    """A checkpoint at the architecture's own random initialisation (float32 safetensors)."""
    import numpy as np
    from safetensors.numpy import save_file

    from rankcollapse.numerics import architectures as arch

    raw = {"model_type": kind, **BASE[kind]}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(raw))
    state = arch.random_state(arch.Config.from_hf(raw), seed=0)
    save_file({k: v.astype(np.float32) for k, v in state.items()}, folder / "model.safetensors")


def _input_ids(path: Path, sequences: int, tokens: int) -> None:
    import numpy as np

    ids = np.random.default_rng(0).integers(1000, 30000, size=(sequences, tokens))
    path.write_text(json.dumps({"input_ids": ids.tolist()}))


def bert_base(sequences: int = 32):
    """transformers' BertConfig defaults (hidden 768, 12 layers, 12 heads, intermediate 3072, 110M
    parameters) at Hugging Face's own random initialisation, saved with ``save_pretrained``
    (safetensors), and ``sequences`` x 128 token ids: ``real-model --model DIR --input-ids FILE
    --jobs 2`` (the default run otherwise)."""
    import torch
    from transformers import BertConfig, BertModel

    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        BertModel(BertConfig()).save_pretrained(Path(tmp) / "bert", safe_serialization=True)
        _input_ids(Path(tmp) / "ids.json", sequences, 128)
        load = os.getloadavg()[0]
        rc, *figures = _run(["--model", str(Path(tmp) / "bert"), "--input-ids", str(Path(tmp) / "ids.json"),
                             "--jobs", "2"])
    print(f"random BERT-base (110M parameters), {sequences} x 128 tokens, --jobs 2: exit {rc}, "
          f"{_figures(*figures, load)}")


def architectures(out: str, sequences: int = 4, tokens: int = 64):
    """Each architecture at base size and random initialisation: JSON and figures into ``out``
    (docs/figures/real_model_<kind>.*), one line of time and memory per architecture. Sequence 0
    in balls: twelve layers fall past the long double's range too (BERT: 1e-365448)."""
    with tempfile.TemporaryDirectory() as tmp:
        _input_ids(Path(tmp) / "ids.json", sequences, tokens)
        for kind in (sys.argv[3].split(",") if len(sys.argv) > 3 else BASE):
            _random_checkpoint(kind, Path(tmp) / kind)
            target = Path(out) / f"real_model_{kind}"
            load = os.getloadavg()[0]
            rc, *figures = _run(["--model", str(Path(tmp) / kind), "--input-ids", str(Path(tmp) / "ids.json"),
                                 "--path-samples", "8", "--bracket-sequences", "0", "--balls-sequences", "1",
                                 "--json", f"{target}.json", "--plot", f"{target}.png",
                                 "--paths-plot", f"{target}_paths.png"])
            print(f"{kind:>10}: exit {rc}, {sequences} x {tokens} tokens, {_figures(*figures, load)}", flush=True)


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "blas"
    if what == "architectures":
        architectures(sys.argv[2] if len(sys.argv) > 2 else "docs/figures")
    elif what == "bert-base":
        bert_base(int(sys.argv[2]) if len(sys.argv) > 2 else 32)
    else:
        {"blas": blas, "phases": phases, "minilm": minilm}[what]()
