#!/usr/bin/env bash
# run.sh BIN_DIR: farbound-sweep on tiny grids (an MLP on 10 Fashion-MNIST images per class).
#  1. The same grid serially and on 2 MPI ranks: the tables (CSV, JSON, markdown) are
#     byte-identical, and the failing setting is recorded with its error in both.
#  2. A 2-rank sweep whose slow run is killed (SIGKILL to its ranks) after its first
#     checkpoint, then started again: every run finishes, the runs finished before the kill
#     are not run again (their results untouched), the killed run resumes from its
#     checkpoint (its log holds each epoch exactly once), and the table equals the serial
#     sweep's for the runs both grids share.
# Needs mpirun (or $MPIEXEC); as root, the caller sets OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM).
source "$(dirname "$0")/../support/tool_test.sh"
mpi=("${MPIEXEC:-mpirun}" -np 2 --oversubscribe)
children_of() {  # the processes whose parent is $1, from /proc (procps may be absent)
  local stat rest state ppid
  for stat in /proc/[0-9]*/stat; do
    rest=$(cat "$stat" 2>/dev/null) || continue  # the process may have ended since the glob
    rest=${rest##*) }  # after the command name, which may hold spaces
    read -r state ppid _ <<<"$rest"
    [[ $ppid == "$1" ]] && basename "${stat%/stat}"
  done
}

cat >grid.json <<'JSON'
{"base": {"model": "mlp", "hidden": [16], "activation": "relu", "num_train": 10, "num_val": 0, "num_epochs": 2,
          "batch_size": 16},
 "axes": {"method": {"plain": {}, "bad": {"grad_reg_lambda": 10},
                     "smooth": {"grad_reg_lambda": 10, "num_neighbor_per_anchor": 1, "num_unlabeled_per_labeled": 1}}},
 "seeds": [1, 2],
 "evaluation": {"attacks": ["fgsm", "pgd"], "epsilons": [0.05, 0.1], "points": 50, "pgd_steps": 3}}
JSON

# ---- 1. serial == 2 ranks
"$bin/farbound-sweep" grid.json --out serial >serial.log 2>&1 || fail "serial sweep: exit $?: $(tail -5 serial.log)"
"${mpi[@]}" "$bin/farbound-sweep" grid.json --out ranks >ranks.log 2>&1 || fail "2-rank sweep: exit $?: $(tail -5 ranks.log)"
for f in table.csv table.json table.md; do
  cmp -s serial/$f ranks/$f || fail "serial and 2-rank $f differ: $(diff serial/$f ranks/$f | head -5)"
done
grep -q "method=bad/seed=1: TrainConfig: grad_reg_lambda > 0 needs num_neighbor_per_anchor" serial/table.md ||
  fail "the failed run is not in table.md: $(cat serial/table.md)"
[[ $(grep -c '^method=' serial/table.csv) == 3 ]] || fail "table.csv: $(cat serial/table.csv)"
[[ -s serial/robust_fgsm.svg && -s serial/robust_pgd.svg ]] || fail "no SVG curves"

# ---- 2. killed and restarted
# The grid above plus a slow setting (100 epochs of LeNet, a checkpoint after each, about a
# second on 2 quiet cores) that the kill interrupts after its first checkpoint.
cat >kill.json <<'JSON'
{"base": {"model": "mlp", "hidden": [16], "activation": "relu", "num_train": 10, "num_val": 0, "num_epochs": 2,
          "batch_size": 16},
 "axes": {"method": {"plain": {}, "bad": {"grad_reg_lambda": 10},
                     "smooth": {"grad_reg_lambda": 10, "num_neighbor_per_anchor": 1, "num_unlabeled_per_labeled": 1},
                     "slow": {"model": "lenet", "num_epochs": 100, "batch_size": 8}}},
 "seeds": [1, 2],
 "evaluation": {"attacks": ["fgsm", "pgd"], "epsilons": [0.05, 0.1], "points": 50, "pgd_steps": 3}}
JSON
slow=killed/runs/method=slow/seed=1
"${mpi[@]}" "$bin/farbound-sweep" kill.json --out killed >first.log 2>&1 &
launcher=$!
for _ in $(seq 1 6000); do  # up to 60 s
  [[ -f $slow/checkpoint.safetensors ]] && break
  kill -0 $launcher 2>/dev/null || break
  sleep 0.01
done
if [[ -f $slow/checkpoint.safetensors && ! -f $slow/result.json ]]; then
  # Every rank at once, as a node loss would: a surviving rank could finish the slow run in
  # the moment before mpirun notices its partner died.
  victims=$(children_of $launcher)
  [[ -n $victims ]] && kill -KILL $victims
fi
wait $launcher && fail "the killed sweep exited with 0: $(tail -5 first.log)"
[[ -f $slow/checkpoint.safetensors && ! -f $slow/result.json ]] || fail "the slow run was not interrupted after a checkpoint"
declare -A before
for r in killed/runs/*/*/result.json; do [[ -f $r ]] && before[$r]=$(md5sum <"$r"); done

"${mpi[@]}" "$bin/farbound-sweep" kill.json --out killed >second.log 2>&1 || fail "restart: exit $?: $(tail -5 second.log)"
for r in "${!before[@]}"; do
  [[ $(md5sum <"$r") == "${before[$r]}" ]] || fail "$r changed on restart"
  name=${r#killed/runs/}
  grep -q "^${name%/result.json}: " second.log && fail "${name%/result.json} ran again after the restart"
done
grep -q "method=slow/seed=1: .*resumed after epoch" second.log || fail "the slow run did not resume: $(grep slow second.log | head -3)"
for log in killed/runs/*/*/log.jsonl; do
  epochs=$(grep -o '"epoch":[0-9]*' "$log" | cut -d: -f2 | tr '\n' ' ')
  want=$([[ $log == *method=slow* ]] && echo "$(seq -s ' ' 1 100) " || echo "1 2 ")
  [[ $epochs == "$want" ]] || fail "$log holds epochs '$epochs', expected '$want'"
done
[[ $(ls -d killed/runs/*/*/result.json | wc -l) == 6 && $(ls -d killed/runs/*/*/error.json | wc -l) == 2 ]] ||
  fail "after the restart: $(ls killed/runs/*/*)"
for setting in plain bad smooth; do
  cmp -s <(grep "^method=$setting," serial/table.csv) <(grep "^method=$setting," killed/table.csv) ||
    fail "method=$setting differs from the serial sweep after kill and restart"
done

[[ $failures == 0 ]] && echo "sweep: all checks passed" || { echo "sweep: $failures failures" >&2; exit 1; }
