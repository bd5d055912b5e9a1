#!/usr/bin/env bash
# End-to-end tests of the offline subcommands through the real binary.
set -u
BIN=${BIN:-build/tabserve}
DATA=${TABSERVE_DATA:-../shared/data/titanic.csv}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

printf 'Name,Age,Fare,Embarked,Sex,Pclass\n"A, B",22,7.25,S,male,3\n"C",38,71.28,C,female,1\n' > "$tmp/in.csv"
printf 'Name,Age,Fare,Embarked,Sex,Pclass\nx,22,7.25,S,male,3\ny,22,7.25,S,alien,3\n' > "$tmp/bad.csv"

$BIN predict --input "$tmp/in.csv" --output "$tmp/out.csv"
check "predict writes a predict column" "head -1 '$tmp/out.csv' | grep -qx 'Name,Age,Fare,Embarked,Sex,Pclass,predict'"
check "predict passes quoted columns through" "grep -q '^\"A, B\",22,7.25,S,male,3,0\.' '$tmp/out.csv'"

echo keep > "$tmp/out2.csv"
$BIN predict --input "$tmp/bad.csv" --output "$tmp/out2.csv" 2> "$tmp/err"; rc=$?
check "a bad row fails predict" "[ $rc -ne 0 ]"
check "the error names row and column" "grep -q 'row 2: column Sex: unknown category \"alien\"' '$tmp/err'"
check "a failed predict leaves the old output untouched" "[ \"\$(cat '$tmp/out2.csv')\" = keep ]"
check "and no temporary file behind" "[ -z \"\$(ls '$tmp' | grep tmp)\" ]"
$BIN predict --input "$tmp/bad.csv" --output "$tmp/out3.csv" --skip-bad 2> "$tmp/err"; rc=$?
check "--skip-bad goes on" "[ $rc -eq 0 ] && [ \$(wc -l < '$tmp/out3.csv') -eq 2 ] && grep -q 'row 2' '$tmp/err'"
printf '{"Age":22,"Fare":7.25,"Embarked":"S","Sex":"male","Pclass":3}\n' | $BIN predict --format jsonl > "$tmp/out.jsonl"
check "predict reads JSON lines from stdin" "grep -q '\"predict\":0\.' '$tmp/out.jsonl'"
$BIN inspect > "$tmp/inspect"
check "inspect shows the schema" "grep -q 'Pclass     categorical integer {1, 2, 3}' '$tmp/inspect' && grep -q 'probability that Survived is 1' '$tmp/inspect'"
$BIN inspect /nonexistent.json 2> "$tmp/err"; rc=$?
check "inspect of a missing file fails clearly" "[ $rc -eq 1 ] && grep -q 'nonexistent.json: No such file' '$tmp/err'"

if [ -r "$DATA" ]; then
  $BIN eval "$DATA" --label Survived > "$tmp/eval"
  check "eval prints its one line" "grep -Eqx 'accuracy=0\.[0-9]{4} logloss=0\.[0-9]{4} auc=0\.[0-9]{4} rows=891' '$tmp/eval'"
  $BIN train "$DATA" --label Survived --numeric Age,Fare --categorical Sex,Embarked,Pclass \
    --cv 5 --fold-by PassengerId -o "$tmp/titanic.json" > "$tmp/train.out" 2>/dev/null
  check "train --cv ends with the cv line" "tail -1 '$tmp/train.out' | grep -Eqx 'cv accuracy=0\.[0-9]{4} logloss=0\.[0-9]{4} auc=0\.[0-9]{4}'"
  if grep -qw fma /proc/cpuinfo; then  # the committed model was trained with FMA arithmetic
    check "the README's command reproduces models/titanic.json byte for byte" "cmp -s '$tmp/titanic.json' models/titanic.json"
  else
    echo "SKIPPED: this CPU has no FMA, so retraining agrees with models/titanic.json only to float rounding"
  fi
  $BIN train "$DATA" --label Survived --numeric Age,Fare --categorical Sex,Embarked,Pclass --hidden "" -o "$tmp/lr.json" 2>/dev/null
  check "--hidden \"\" trains logistic regression" "$BIN inspect '$tmp/lr.json' | grep -q 'network  11 -> 1 sigmoid'"
else
  echo "SKIPPED: $DATA is absent: eval, train and the default model's reproduction were not checked"
fi

[ $fails -eq 0 ] && echo "cli: all passed" || { echo "cli: $fails failed"; exit 1; }
