"""Real-model run time and memory (docs/real_model.md quotes these figures).

    python benchmarks/bench_realmodel.py blas          # one MiniLM sequence: BLAS threads vs one
    python benchmarks/bench_realmodel.py minilm        # the default run (32 x 128, 8 variants), --jobs 2
    python benchmarks/bench_realmodel.py bert-base     # a random BERT-base-size checkpoint (hidden 768, 12 layers)

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


def bert_base():
    import numpy as np
    from safetensors.numpy import save_file

    from rankcollapse.numerics import architectures as arch

    raw = {"model_type": "bert", "hidden_size": 768, "num_attention_heads": 12, "num_hidden_layers": 12,
           "intermediate_size": 3072, "vocab_size": 30522, "max_position_embeddings": 512}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bert-base-random"
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps(raw))
        state = arch.random_state(arch.Config.from_hf(raw), seed=0)
        save_file({k: v.astype(np.float32) for k, v in state.items()}, folder / "model.safetensors")
        del state
        rng = np.random.default_rng(0)
        ids = Path(tmp) / "ids.json"
        ids.write_text(json.dumps({"input_ids": rng.integers(1000, 30000, size=(32, 128)).tolist()}))
        rc, wall, cpu, rss = _run(["--model", str(folder), "--input-ids", str(ids), "--jobs", "2"])
    print(f"random BERT-base (110M parameters), 32 x 128 tokens, --jobs 2: exit {rc}, wall {wall:.1f} s, "
          f"cpu {cpu:.1f} s, peak RSS of the largest process {rss:.0f} MB")


if __name__ == "__main__":
    {"blas": blas, "minilm": minilm, "bert-base": bert_base}[sys.argv[1] if len(sys.argv) > 1 else "blas"]()
