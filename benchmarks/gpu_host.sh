#!/usr/bin/env bash
# The figures that need a GPU host (one H100 or H200 with 16 CPU cores), in one run that fits a device lease.
#
# Here, with the developer set-up's environment active (gensim holds SimLex-999; setuptools builds the wheel), just
# before the call, since the wheel is this tree as it stands (copies into .device/, which git ignores: the wheels the
# GPU image lacks, this checkout as a wheel, bench-en and the evaluation sets, SimLex-999; about 45 MB, under the
# device tool's 64 MiB):
#
#     bash benchmarks/gpu_host.sh prepare
#
# There, through the device tool's `run` with carry [".device"] and timeout_s 600:
#
#     bash benchmarks/gpu_host.sh run                    # the parts below in order, until GPU_HOST_SECONDS is spent
#     bash benchmarks/gpu_host.sh run ftbin quality      # only these parts (a second call, GPU_HOST_SECONDS=200)
#
# Each part runs under `timeout` with its limit below, its output in $OUT/PART.log, and summary.log says what ran,
# for how long and how it ended (the device tool brings $OUT back); a part that would start with under 20 s left is
# skipped and named there. GPU_HOST_SECONDS (default 560) is the whole run's budget. The parts, most owed first:
#
#   modes    (120 s) gpu_engine.py modes: each model's phases at dims 100 and 300, subwords included (issues 21, 22)
#   e2e3     (280 s) train_speed.py --device cuda --repeat 4 --epochs 3: Triton's training phase and end to end
#            against the CPU kernel on every core, dims 100 and 300, quality deltas (issue 25)
#   front    (70 s)  front_end.py --workers 16: the front end on the host's 16 cores, `wc -w` beside it (issue 25)
#   e2e1     (80 s)  the same as e2e3 for one epoch, dim 100 (issue 25)
#   ftbin    (120 s) fasttext_bin.py: converting a cc-size .bin against fasttext.load_model on this disk (issue 22)
#   quality  (180 s) gpu_engine.py quality: CBOW and hierarchical softmax on Triton against the CPU kernel (issue 21)
set -euo pipefail
cd "$(git rev-parse --show-toplevel 2>/dev/null || dirname "$(dirname "$(realpath "$0")")")"
DEVICE_DIR=.device
PARTS=(modes e2e3 front e2e1 ftbin quality)

prepare() {
    local shared=${WORD2VEC_SHARED:-../shared} python=${PYTHON:-python}
    rm -rf "$DEVICE_DIR"
    mkdir -p "$DEVICE_DIR/wheels" "$DEVICE_DIR/shared/data/eval"
    # transformers >= 5.20 and huggingface_hub 2 with its HTTP layer (the image has 5.17 and 1.x); fastText's
    # bindings for ftbin; isal for .gz corpora (the reader falls back to gzip, three times slower).
    for name in transformers huggingface_hub httpx2 httpcore2 truststore; do
        cp "$shared"/device-wheels/"$name"-*.whl "$DEVICE_DIR/wheels/"
    done
    cp "$shared"/device-peers/fasttext_numpy2-*.whl "$DEVICE_DIR/wheels/"
    "$python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$DEVICE_DIR/wheels" "isal>=1.6"
    "$python" -m pip wheel -q --no-deps --no-build-isolation -w "$DEVICE_DIR/wheels" .
    { git rev-parse HEAD; git status --porcelain; } >"$DEVICE_DIR/REVISION"
    cp "$shared/data/bench-en.txt.gz" "$DEVICE_DIR/shared/data/"
    cp "$shared"/data/eval/* "$DEVICE_DIR/shared/data/eval/"
    "$python" - "$DEVICE_DIR/simlex999.txt" <<'EOF'
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
    echo "== $name (at most ${limit}s): $(printf '%q ' "$@")" | tee -a "$OUT/summary.log"
    local started=$SECONDS status=0
    timeout -k 15 "$limit" "$@" >"$OUT/$name.log" 2>&1 || status=$?
    echo "   exit $status after $((SECONDS - started))s$( ((status == 124 || status == 137)) && echo ': timed out')" |
        tee -a "$OUT/summary.log"
    tail -n 25 "$OUT/$name.log"
}

run() {
    local part
    for part in "$@"; do
        [[ " ${PARTS[*]} " == *" $part "* ]] || { echo "error: no part '$part' (${PARTS[*]})" >&2; exit 2; }
    done
    [[ -d $DEVICE_DIR/wheels ]] || {
        echo "error: no $DEVICE_DIR/wheels: run 'bash $0 prepare' here first, then carry $DEVICE_DIR" >&2
        exit 2
    }
    : "${OUT:?the device tool sets OUT, the folder whose files come back}"
    DEADLINE=$((SECONDS + ${GPU_HOST_SECONDS:-560}))
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        "$DEVICE_DIR"/wheels/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
    export WORD2VEC_SHARED=$PWD/$DEVICE_DIR/shared WORD2VEC_SIMLEX=$PWD/$DEVICE_DIR/simlex999.txt
    {
        cat "$DEVICE_DIR/REVISION"
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
        echo "$(nproc) cores; /tmp: $(df -h --output=fstype,avail /tmp | tail -n 1)"
        python3 -c "import torch, triton, transformers, word2vec_hub.training.trainer as trainer
print('torch', torch.__version__, 'triton', triton.__version__, 'transformers', transformers.__version__)
print('word2vec_hub from', trainer.__file__)"
    } 2>&1 | tee "$OUT/summary.log"
    local parts=("$@")
    ((${#parts[@]})) || parts=("${PARTS[@]}")
    for part in "${parts[@]}"; do
        case $part in
            modes) run_part modes 120 python3 benchmarks/gpu_engine.py modes ;;
            e2e3) run_part e2e3 280 python3 benchmarks/train_speed.py --device cuda --repeat 4 --epochs 3 ;;
            front) run_part front 70 python3 benchmarks/front_end.py --workers 16 ;;
            e2e1) run_part e2e1 80 python3 benchmarks/train_speed.py --device cuda --repeat 4 --epochs 1 --dims 100 ;;
            ftbin) run_part ftbin 120 python3 benchmarks/fasttext_bin.py --workdir /tmp ;;
            quality) run_part quality 180 python3 benchmarks/gpu_engine.py quality --dims 100 \
                --models "cbow ns" "skip-gram hs" "cbow hs" ;;
        esac
    done
}

case ${1:-} in
    prepare) prepare ;;
    run) shift; run "$@" ;;
    *) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
