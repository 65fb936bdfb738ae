"""Real-model run time and memory (docs/real_model.md quotes these figures).

    python benchmarks/bench_realmodel.py blas          # one MiniLM sequence: BLAS threads vs one
    python benchmarks/bench_realmodel.py minilm        # the default run (32 x 128, 8 variants), --jobs 2
    python benchmarks/bench_realmodel.py bert-base     # a random BERT-base-size checkpoint (hidden 768, 12 layers)
    python benchmarks/bench_realmodel.py architectures [DIR]  # each architecture at base size, random init

Each prints wall time, CPU time and peak resident memory side by side. ``bert-base`` writes a
random checkpoint at BERT's own initialisation (float32 safetensors, 110M parameters) to a
temporary folder and runs ``real-model --model DIR --input-ids FILE`` on it.
"""

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(argv):
    t = time.perf_counter()
    rc = subprocess.call([sys.executable, "-m", "rankcollapse.realmodel", *argv], stdout=subprocess.DEVNULL)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return rc, time.perf_counter() - t, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


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
            m._sequence(model.folder, "pretrained", 0, ids, False)
            rows.append((label, time.perf_counter() - t, time.process_time() - c))
    for label, wall, cpu in rows:
        print(f"{label:>22}: wall {wall:7.2f} s   cpu {cpu:7.2f} s   (one sequence, 4 variants)")
    print(f"{'ratio':>22}: wall {rows[0][1] / rows[1][1]:7.2f}     cpu {rows[0][2] / rows[1][2]:7.2f}")


def minilm():
    rc, wall, cpu, rss = _run(["--jobs", "2"])
    print(f"MiniLM default run, --jobs 2: exit {rc}, wall {wall:.1f} s, cpu {cpu:.1f} s, peak RSS {rss:.0f} MB")


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


def bert_base():
    with tempfile.TemporaryDirectory() as tmp:
        _random_checkpoint("bert", Path(tmp) / "bert")
        _input_ids(Path(tmp) / "ids.json", 32, 128)
        rc, wall, cpu, rss = _run(["--model", str(Path(tmp) / "bert"), "--input-ids", str(Path(tmp) / "ids.json"),
                                   "--jobs", "2"])
    print(f"random BERT-base (110M parameters), 32 x 128 tokens, --jobs 2: exit {rc}, wall {wall:.1f} s, "
          f"cpu {cpu:.1f} s, peak RSS of the largest process {rss:.0f} MB")


def architectures(out: str, sequences: int = 4, tokens: int = 64):
    """Each architecture at base size and random initialisation: JSON and figures into ``out``
    (docs/figures/real_model_<kind>.*), one line of time and memory per architecture."""
    with tempfile.TemporaryDirectory() as tmp:
        _input_ids(Path(tmp) / "ids.json", sequences, tokens)
        for kind in (sys.argv[3].split(",") if len(sys.argv) > 3 else BASE):
            _random_checkpoint(kind, Path(tmp) / kind)
            target = Path(out) / f"real_model_{kind}"
            rc, wall, cpu, rss = _run(["--model", str(Path(tmp) / kind), "--input-ids", str(Path(tmp) / "ids.json"),
                                       "--path-samples", "8", "--bracket-sequences", "0",
                                       "--json", f"{target}.json", "--plot", f"{target}.png",
                                       "--paths-plot", f"{target}_paths.png"])
            print(f"{kind:>10}: exit {rc}, {sequences} x {tokens} tokens, wall {wall:.1f} s, cpu {cpu:.1f} s, "
                  f"peak RSS {rss:.0f} MB", flush=True)


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "blas"
    if what == "architectures":
        architectures(sys.argv[2] if len(sys.argv) > 2 else "docs/figures")
    else:
        {"blas": blas, "minilm": minilm, "bert-base": bert_base}[what]()
