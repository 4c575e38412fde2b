#!/usr/bin/env bash
# The figures that need a GPU host (one H100 or H200 with 16 CPU cores), in one run that fits a device lease.
#
# Here, before the call (copies into .device/, which git ignores: the wheels the GPU image lacks, this checkout built
# as a wheel, bench-en and the evaluation sets, SimLex-999; about 45 MB, under the device tool's 64 MiB):
#
#     bash benchmarks/gpu_host.sh prepare
#
# There, through the device tool's `run` with carry [".device"] and a timeout_s of about 600:
#
#     bash benchmarks/gpu_host.sh run                    # every part below, in order, until the time is spent
#     bash benchmarks/gpu_host.sh run quality ftbin      # only these parts
#
# Each part runs under `timeout`, its output in $OUT/PART.log (the device tool brings $OUT back); a part that would
# start with under 20 s left is skipped and named, to be run in a second call. GPU_HOST_SECONDS (default 540) is the
# whole run's budget. The parts, most owed first:
#
#   e2e3     train_speed.py --device cuda --repeat 4 --epochs 3: Triton phase and end to end against the CPU kernel
#            on every core, dims 100 and 300, quality deltas (issue 25)
#   e2e1     the same for one epoch (issue 25)
#   modes    gpu_engine.py modes: each model's phases at dims 100 and 300, the subword ones included (issues 21, 22)
#   front    front_end.py --workers 16: the front end on the host's 16 cores, `wc -w` beside it (issue 25)
#   quality  gpu_engine.py quality, every model at dim 100: the Triton engine against the CPU kernel (issue 21)
#   ftbin    fasttext_bin.py: converting a cc-size .bin against fasttext.load_model on the host's disk (issue 22)
set -euo pipefail
cd "$(git rev-parse --show-toplevel 2>/dev/null || dirname "$(dirname "$(realpath "$0")")")"
DEVICE_DIR=.device

prepare() {
    local shared=${WORD2VEC_SHARED:-../shared}
    rm -rf "$DEVICE_DIR"
    mkdir -p "$DEVICE_DIR/wheels" "$DEVICE_DIR/shared/data/eval"
    # transformers >= 5.20 and huggingface_hub 2 with its HTTP layer (the image has 5.17 and 1.x); fastText's
    # bindings for ftbin; isal for .gz corpora (the reader falls back to gzip, three times slower).
    for name in transformers huggingface_hub httpx2 httpcore2 truststore; do
        cp "$shared"/device-wheels/"$name"-*.whl "$DEVICE_DIR/wheels/"
    done
    cp "$shared"/device-peers/fasttext_numpy2-*.whl "$DEVICE_DIR/wheels/"
    python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$DEVICE_DIR/wheels" "isal>=1.6"
    python -m pip wheel -q --no-deps --no-build-isolation -w "$DEVICE_DIR/wheels" .
    cp "$shared/data/bench-en.txt.gz" "$DEVICE_DIR/shared/data/"
    cp "$shared"/data/eval/* "$DEVICE_DIR/shared/data/eval/"
    python - "$DEVICE_DIR/simlex999.txt" <<'EOF'
import importlib.util, pathlib, shutil, sys
spec = importlib.util.find_spec("gensim")
if spec is None:
    sys.exit("gensim is not installed here, and its package holds SimLex-999: pip install gensim")
shutil.copy(pathlib.Path(spec.submodule_search_locations[0]) / "test" / "test_data" / "simlex999.txt", sys.argv[1])
EOF
    du -sh "$DEVICE_DIR"
}

run_part() {
    local name=$1 budget=$2
    shift 2
    local left=$((DEADLINE - SECONDS))
    if ((left < 20)); then
        echo "== $name skipped: ${left}s left of GPU_HOST_SECONDS; run it in a second call" | tee -a "$OUT/summary.log"
        return
    fi
    local limit=$((budget < left ? budget : left))
    echo "== $name (at most ${limit}s): $*" | tee -a "$OUT/summary.log"
    local started=$SECONDS status=0
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1 || status=$?
    echo "   exit $status after $((SECONDS - started))s" | tee -a "$OUT/summary.log"
    tail -n 25 "$OUT/$name.log"
}

run() {
    local part
    for part in "$@"; do
        [[ $part =~ ^(e2e3|e2e1|modes|front|quality|ftbin)$ ]] || {
            echo "error: no part '$part' (e2e3, e2e1, modes, front, quality, ftbin)" >&2
            exit 2
        }
    done
    [[ -d $DEVICE_DIR/wheels ]] || { echo "error: no $DEVICE_DIR/wheels: run 'bash $0 prepare' here first, then carry $DEVICE_DIR" >&2; exit 2; }
    : "${OUT:?the device tool sets OUT, the folder whose files come back}"
    DEADLINE=$((SECONDS + ${GPU_HOST_SECONDS:-540}))
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        "$DEVICE_DIR"/wheels/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
    export WORD2VEC_SHARED=$PWD/$DEVICE_DIR/shared WORD2VEC_SIMLEX=$PWD/$DEVICE_DIR/simlex999.txt
    {
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
        nproc
        python3 -c "import torch, triton, transformers; print('torch', torch.__version__, 'triton', triton.__version__, 'transformers', transformers.__version__)"
    } 2>&1 | tee "$OUT/summary.log"
    local parts=("$@")
    ((${#parts[@]})) || parts=(e2e3 e2e1 modes front quality ftbin)
    for part in "${parts[@]}"; do
        case $part in
            e2e3) run_part e2e3 170 python3 benchmarks/train_speed.py --device cuda --repeat 4 --epochs 3 ;;
            e2e1) run_part e2e1 110 python3 benchmarks/train_speed.py --device cuda --repeat 4 --epochs 1 ;;
            modes) run_part modes 150 python3 benchmarks/gpu_engine.py modes ;;
            front) run_part front 90 python3 benchmarks/front_end.py --workers 16 ;;
            quality) run_part quality 200 python3 benchmarks/gpu_engine.py quality --dims 100 --models \
                "skip-gram ns" "cbow ns" "skip-gram hs" "cbow hs" "skip-gram ns sw" "cbow ns sw" ;;
            ftbin) run_part ftbin 150 python3 benchmarks/fasttext_bin.py --workdir /tmp ;;
        esac
    done
}

case ${1:-} in
    prepare) prepare ;;
    run) shift; run "$@" ;;
    *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
