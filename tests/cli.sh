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
# chosen_by FIGURE OUT: "ok" when --model auto's output OUT chose a candidate with the
# lowest cross-validated FIGURE (log-loss, RMSE) of those it lists
chosen_by() {
  awk -v f="$1" '/^candidate / { for (i = 3; i <= NF; i++) if (split($i, kv, "=") == 2 && kv[1] == f) v[$2] = kv[2] + 0 }
    /^chosen: / { c = $2 } END { if (!(c in v)) exit; for (k in v) if (v[k] < v[c]) exit; print "ok" }' "$2"
}

printf 'Name,Age,Fare,Embarked,Sex,Pclass\n"A, B",22,7.25,S,male,3\n"C",38,71.28,C,female,1\n' > "$tmp/in.csv"
printf 'Name,Age,Fare,Embarked,Sex,Pclass\nx,22,7.25,S,male,3\ny,22,7.25,S,alien,3\n' > "$tmp/bad.csv"

$BIN predict --input "$tmp/in.csv" --output "$tmp/out.csv"
check "predict writes a predict column" "head -1 '$tmp/out.csv' | grep -qx 'Name,Age,Fare,Embarked,Sex,Pclass,predict'"
# exact values: the default model on the seed's passenger and on a first-class woman
check "predict passes quoted columns through, with the exact predictions" "[ \"\$(tail -2 '$tmp/out.csv')\" = \"\$(printf '\"A, B\",22,7.25,S,male,3,0.0715020671\\nC,38,71.28,C,female,1,0.979983628')\" ]"

echo keep > "$tmp/out2.csv"
$BIN predict --input "$tmp/bad.csv" --output "$tmp/out2.csv" 2> "$tmp/err"; rc=$?
check "a bad row fails predict" "[ $rc -ne 0 ]"
check "the error names row and column" "grep -q 'row 2: column Sex: unknown category \"alien\"' '$tmp/err'"
check "a failed predict leaves the old output untouched" "[ \"\$(cat '$tmp/out2.csv')\" = keep ]"
check "and no temporary file behind" "[ -z \"\$(ls '$tmp' | grep tmp)\" ]"
# an output that is a device or a pipe (--output /dev/null) is written in place: renaming
# a temporary file over it would replace /dev/null itself (a FIFO here, the same path)
mkfifo "$tmp/pipe"
timeout 20 cat "$tmp/pipe" > "$tmp/from-pipe" & # a reader that gives up: never a hang
$BIN predict --input "$tmp/in.csv" --output "$tmp/pipe"; rc=$?
wait
check "predict --output to a pipe writes through it and leaves it a pipe, no temporary file" \
  "[ $rc -eq 0 ] && cmp -s '$tmp/from-pipe' '$tmp/out.csv' && [ -p '$tmp/pipe' ] && [ -z \"\$(ls '$tmp' | grep tmp)\" ]"
$BIN predict --input "$tmp/bad.csv" --output "$tmp/out3.csv" --skip-bad 2> "$tmp/err"; rc=$?
check "--skip-bad goes on" "[ $rc -eq 0 ] && [ \$(wc -l < '$tmp/out3.csv') -eq 2 ] && grep -q 'row 2' '$tmp/err'"
printf '{"Age":22,"Fare":7.25,"Embarked":"S","Sex":"male","Pclass":3}\n' | $BIN predict --format jsonl > "$tmp/out.jsonl"
check "predict reads JSON lines from stdin" "grep -qx '{\"Age\":22,\"Fare\":7.25,\"Embarked\":\"S\",\"Sex\":\"male\",\"Pclass\":3,\"predict\":0.0715020671}' '$tmp/out.jsonl'"
$BIN predict tests/fixtures/titanic-v1.json --input "$tmp/in.csv" --output "$tmp/v1.csv"
# 0.1.0's own answers for those two passengers (its default model, the MLP ensemble)
check "a version-1 model file (tabserve 0.1.0) still loads and predicts the same" "[ \"\$(tail -2 '$tmp/v1.csv')\" = \"\$(printf '\"A, B\",22,7.25,S,male,3,0.116562441\\nC,38,71.28,C,female,1,0.967304289')\" ]"
$BIN inspect > "$tmp/inspect"
check "inspect shows the schema, the feature steps, the estimator and the output" "grep -q 'Pclass     categorical integer {1, 2, 3}, unknown -> error, required' '$tmp/inspect' && grep -q 'Fare       impute(14.4542) -> log1p -> standardize(mean 2.962, std 0.9685) -> column 2' '$tmp/inspect' && grep -qF 'estimator blend of 2: 0.3 x [mlp 11 -> 64 relu -> 32 relu -> 1 linear] on columns 0..10; 0.7 x [trees 128 (max depth 5, 4534 nodes; categorical splits' '$tmp/inspect' && grep -q 'probability that Survived is 1 (binary, link sigmoid)' '$tmp/inspect'"
$BIN inspect /nonexistent.json 2> "$tmp/err"; rc=$?
check "inspect of a missing file fails clearly" "[ $rc -eq 1 ] && grep -q 'nonexistent.json: No such file' '$tmp/err'"

# a CSV large enough (17 MB) to be read by two threads, with quoted fields holding
# commas and newlines throughout (the cut must fall between records): the same model
# file with 1 and 2 threads, and errors that name the file's own row
awk 'BEGIN { srand(7); printf "y,note"; for (j = 0; j < 12; j++) printf ",f%d", j; print "";
  for (i = 1; i <= 220000; i++) {
    z = 0; line = "";
    for (j = 0; j < 12; j++) { v = rand() * 10 - 5; z += (j % 3 ? -0.4 : 1) * v;
      line = line "," (rand() < 0.05 ? "" : sprintf("%.5g", v)) }
    note = i % 997 == 0 ? "\"line one,\nline \"\"two\"\"\"" : "n" i;
    printf "%d,%s%s\n", (z + rand() * 4 > 2), note, line } }' > "$tmp/big.csv"
big="--label y --numeric f0,f1,f2,f3,f4,f5,f6,f7,f8,f9,f10,f11 --model gbt --trees 8 --max-depth 4 --early-stopping 0"
big="$big --held-out 0" # no figure: the file read straight into float columns, by two threads
$BIN train "$tmp/big.csv" $big --threads 1 -o "$tmp/big1.json" 2>/dev/null
$BIN train "$tmp/big.csv" $big --threads 2 -o "$tmp/big2.json" 2> "$tmp/err"
check "a 17 MB CSV read by two threads trains the same model file as one thread" \
  "[ \$(stat -c %s '$tmp/big.csv') -gt 16777216 ] && [ -s '$tmp/big1.json' ] && cmp -s '$tmp/big1.json' '$tmp/big2.json' && grep -q '220000 rows' '$tmp/err'"
awk 'NR == 200001 { sub(/,n[0-9]+,/, ",bad row,x") } { print }' "$tmp/big.csv" > "$tmp/bigbad.csv"
$BIN train "$tmp/bigbad.csv" $big --threads 2 -o "$tmp/bigbad.json" 2> "$tmp/err"; rc=$?
# (file line 200001 is data row 199800: the 200 records before it with a quoted newline span two lines)
check "a bad row in the second half names the file's own row" \
  "[ $rc -ne 0 ] && grep -q 'row 199800: column f0: \"x-4.2527\" is not a finite number' '$tmp/err' && [ ! -e '$tmp/bigbad.json' ]"

# models of the other output kinds (format 2, written here by hand): a tree ensemble
# for regression and a linear softmax model for three classes
cat > "$tmp/trees.json" <<'JSON'
{"format":"tabserve-model","format_version":2,
 "inputs":[{"name":"a","type":"number"},{"name":"b","type":"number"}],
 "features":[{"input":"a","steps":[{"op":"passthrough"}]},{"input":"b","steps":[{"op":"passthrough"}]}],
 "predictor":{"kind":"trees","n_features":2,"base_score":[0.5],"trees":[
  {"feature":[0,1,-1,-1,-1],"threshold":[1,0,0,0,0],"left":[1,3,0,0,0],"right":[2,4,0,0,0],
   "default_left":[0,1,0,0,0],"value":[0,0,3,1,2]},
  {"feature":[1,-1,-1],"threshold":[5,0,0],"left":[1,0,0],"right":[2,0,0],"default_left":[1,0,0],"value":[0,-1,10]}]},
 "output":{"name":"predict","task":"regression","link":"identity","label":"y"}}
JSON
printf 'y,a,b\n0.5,0,-1\n1.5,0,0\n3.5,1,\n' > "$tmp/reg.csv"
check "eval of a regression model: RMSE, MAE, R2" "[ \"\$($BIN eval '$tmp/trees.json' '$tmp/reg.csv')\" = 'rmse=0.57735 mae=0.333333 r2=0.7857 rows=3' ]"
check "predict with trees: missing b follows the default branch" "[ \"\$($BIN predict '$tmp/trees.json' --input '$tmp/reg.csv' | tail -1)\" = '3.5,1,,2.5' ]"
cat > "$tmp/iris.json" <<'JSON'
{"format":"tabserve-model","format_version":2,
 "inputs":[{"name":"x","type":"number","missing":"required"}],
 "features":[{"input":"x","steps":[{"op":"standardize","mean":0,"std":1}]}],
 "predictor":{"kind":"linear","weights":[[1,0,-1]],"bias":[0,0,0]},
 "output":{"name":"predict","task":"multiclass","link":"softmax","label":"species","classes":["setosa","versicolor","virginica"]}}
JSON
printf 'species,x\nsetosa,1\nvirginica,-1\nversicolor,1\n' > "$tmp/iris.csv"
check "eval of a multiclass model: accuracy and log-loss" "[ \"\$($BIN eval '$tmp/iris.json' '$tmp/iris.csv')\" = 'accuracy=0.6667 logloss=0.7409 rows=3' ]"
check "predict of a multiclass model: a predict_<class> column each" "[ \"\$($BIN predict '$tmp/iris.json' --input '$tmp/iris.csv' | head -2 | tr '\n' '|')\" = 'species,x,predict_setosa,predict_versicolor,predict_virginica|setosa,1,0.665240943,0.244728476,0.0900305733|' ]"
check "JSON lines of a multiclass model: a predict object" "[ \"\$(echo '{\"x\": 0}' | $BIN predict '$tmp/iris.json' --format jsonl)\" = '{\"x\":0,\"predict\":{\"setosa\": 0.333333343, \"versicolor\": 0.333333343, \"virginica\": 0.333333343}}' ]"
printf 'species,x\nrose,1\n' > "$tmp/iris-bad.csv"
$BIN eval "$tmp/iris.json" "$tmp/iris-bad.csv" 2> "$tmp/err"; rc=$?
check "eval names a label that is not a class" "[ $rc -eq 1 ] && grep -q 'row 1: column species: \"rose\" is not one of the model.s classes' '$tmp/err'"

if [ -r "$DATA" ]; then
  $BIN eval "$DATA" --label Survived > "$tmp/eval"
  check "eval prints its one line" "grep -Eqx 'accuracy=0\.[0-9]{4} logloss=0\.[0-9]{4} auc=0\.[0-9]{4} rows=891' '$tmp/eval'"
  $BIN train "$DATA" --label Survived --numeric Age,Fare --categorical Sex,Embarked,Pclass \
    --model blend --cv 5 --fold-by PassengerId -o "$tmp/titanic.json" > "$tmp/train.out" 2>/dev/null
  check "train --cv ends with the cv line" "tail -1 '$tmp/train.out' | grep -Eqx 'cv accuracy=0\.[0-9]{4} logloss=0\.[0-9]{4} auc=0\.[0-9]{4}'"
  if grep -qw fma /proc/cpuinfo; then  # the committed model was trained with FMA arithmetic
    check "the README's command reproduces models/titanic.json byte for byte" "cmp -s '$tmp/titanic.json' models/titanic.json"
  else
    echo "SKIPPED: this CPU has no FMA, so retraining agrees with models/titanic.json only to float rounding"
  fi
  $BIN train "$DATA" --label Survived --numeric Age,Fare --categorical Sex,Embarked,Pclass --hidden "" -o "$tmp/lr.json" 2>/dev/null
  check "--hidden \"\" trains logistic regression" "$BIN inspect '$tmp/lr.json' | grep -q '^estimator linear 11 -> 1$'"
  # gradient-boosted trees: byte-identical files from the same flags, any thread count
  gbt="--label Survived --numeric Age,Fare --categorical Sex,Embarked,Pclass --model gbt --trees 120 --max-depth 3 --held-out 0"
  $BIN train "$DATA" $gbt --threads 1 -o "$tmp/gbt1.json" 2>/dev/null
  $BIN train "$DATA" $gbt --threads 2 -o "$tmp/gbt2.json" 2>/dev/null
  $BIN train "$DATA" $gbt --threads 1 -o "$tmp/gbt3.json" 2>/dev/null
  check "train --model gbt: the same file from the same flags, with 1 or 2 threads" \
    "cmp -s '$tmp/gbt1.json' '$tmp/gbt2.json' && cmp -s '$tmp/gbt1.json' '$tmp/gbt3.json'"
  $BIN train "$DATA" $gbt --threads 1 --cv 2 --fold-by PassengerId -o "$tmp/gbt-cv.json" > /dev/null 2>&1
  check "gbt: the CSV read straight into floats (no --cv) and the text table (--cv) train the same model" \
    "[ \"\$($BIN inspect '$tmp/gbt1.json' | sed -n 2p)\" = \"\$($BIN inspect '$tmp/gbt-cv.json' | sed -n 2p)\" ]"
  check "inspect of a gbt model: its trees and categorical splits" \
    "$BIN inspect '$tmp/gbt1.json' | grep -Eq '^estimator trees [0-9]+ \(max depth 3, [0-9]+ nodes; categorical splits; complete depth-3 layout, [a-z0-9]+ kernels\)'"
  $BIN predict "$tmp/gbt1.json" --input "$DATA" --output "$tmp/gbt-pred.csv"
  cp "$tmp/gbt1.json" "$tmp/gbt-copy.json"
  $BIN predict "$tmp/gbt-copy.json" --input "$DATA" --output "$tmp/gbt-pred2.csv"
  check "a gbt model file loads back and predicts every row" "[ \$(wc -l < '$tmp/gbt-pred.csv') -eq 892 ] && cmp -s '$tmp/gbt-pred.csv' '$tmp/gbt-pred2.csv'"
  $BIN train "$DATA" --label Fare --numeric Age --categorical Sex,Pclass --model gbt --objective regression \
    --trees 50 -o "$tmp/gbt-reg.json" 2>/dev/null
  check "train --model gbt --objective regression: a regression model" \
    "$BIN inspect '$tmp/gbt-reg.json' | grep -q 'predicted Fare (regression, link identity)'"
  # a blend is the mean of the two models' logits; auto chooses by CV and says so
  # (every tree flag given: --model blend has its own defaults, the default model's)
  base="--label Survived --numeric Age,Fare --categorical Sex,Embarked,Pclass --trees 60 --ensemble 2 --epochs 20"
  base="$base --max-depth 3 --learning-rate 0.05 --min-child-weight 1 --colsample 1 --early-stopping 30 --split-gain hessian"
  $BIN train "$DATA" $base --model mlp -o "$tmp/b-mlp.json" 2>/dev/null
  $BIN train "$DATA" $base --model gbt -o "$tmp/b-gbt.json" 2>/dev/null
  $BIN train "$DATA" $base --tree-l2 1 --model blend --blend-weight 0.5 -o "$tmp/b-blend.json" 2>/dev/null
  for m in mlp gbt blend; do $BIN predict "$tmp/b-$m.json" --input "$DATA" --output "$tmp/b-$m.csv"; done
  check "--model blend: sigmoid of the mean of the MLP's and the trees' logits, row by row" \
    "python3 -c 'import csv,math,sys
cols=[[float(r[\"predict\"]) for r in csv.DictReader(open(f))] for f in sys.argv[1:]]
lg=lambda p: math.log(p/(1-p))
sys.exit(max(abs(1/(1+math.exp(-(lg(a)+lg(b))/2))-c) for a,b,c in zip(*cols)) > 2e-6)' '$tmp/b-mlp.csv' '$tmp/b-gbt.csv' '$tmp/b-blend.csv'"
  $BIN train "$DATA" $base --tree-l2 1 --model blend -o "$tmp/b-blend3.json" 2>/dev/null
  $BIN predict "$tmp/b-blend3.json" --input "$DATA" --output "$tmp/b-blend3.csv"
  check "--model blend (its default weight 0.3): sigmoid of 0.3 x the MLP's logit + 0.7 x the trees', row by row" \
    "python3 -c 'import csv,math,sys
cols=[[float(r[\"predict\"]) for r in csv.DictReader(open(f))] for f in sys.argv[1:]]
lg=lambda p: math.log(p/(1-p))
sys.exit(max(abs(1/(1+math.exp(-(0.3*lg(a)+0.7*lg(b))))-c) for a,b,c in zip(*cols)) > 2e-6)' '$tmp/b-mlp.csv' '$tmp/b-gbt.csv' '$tmp/b-blend3.csv'"
  check "--blend-weight outside [0, 1] is refused, naming the option" \
    "! $BIN train '$DATA' $base --model blend --blend-weight 1.5 -o '$tmp/bad.json' 2>/dev/null && $BIN train '$DATA' $base --model blend --blend-weight 1.5 -o '$tmp/bad.json' 2>&1 | grep -q -- '--blend-weight must be a number from 0 to 1, got \"1.5\"'"
  $BIN train "$DATA" $base --model auto --cv 3 --fold-by PassengerId -o "$tmp/auto.json" > "$tmp/auto.out" 2>/dev/null
  check "--model auto: every candidate's CV, the nested estimate and the choice, in the output and the metadata" \
    "[ \"\$(sed -n 's/^candidate \([a-z-]*\) *cv accuracy=.*/\\1/p' '$tmp/auto.out' | tr '\\n' ' ')\" = 'mlp mlp-tanh gbt blend ' ] &&
     grep -q '^nested cv accuracy=' '$tmp/auto.out' && [ \"\$(chosen_by logloss '$tmp/auto.out')\" = ok ] && $BIN inspect '$tmp/auto.json' | grep -q '\"nested_cv\"'"
  # tabserve 0.1.0's default model (tests/fixtures/titanic-v1.json) must give the
  # same predict column on the whole data, to the last digit: its sha256 was
  # recorded from tabserve 0.1.0's own output (tests/fixtures/README.md)
  $BIN predict tests/fixtures/titanic-v1.json --input "$DATA" --output "$tmp/v1-all.csv"
  col() { python3 -c 'import csv,sys; print("\n".join(r["predict"] for r in csv.DictReader(open(sys.argv[1]))))' "$1"; }
  check "version-1 model: the 0.1.0 predict column on the data, to the last digit" \
    "[ \"\$(col '$tmp/v1-all.csv' | sha256sum | cut -c1-64)\" = f886fc83efcccb688b906ce99dc5646a0c9e29b5af9459bd3fd5e8c45316bd22 ]"
else
  echo "SKIPPED: $DATA is absent: eval, train and the default model's reproduction were not checked"
fi


# your own CSV with only --label: inputs typed by content, an id column left out, a label of
# two words (the second in order is the positive class unless --positive says), folds by row
python3 - "$tmp/own.csv" <<'PY'
import math, sys
with open(sys.argv[1], "w") as f:
    f.write("row,size,colour,weight,outcome\n")
    for i in range(200):
        size = round(math.sin(i) * 10 + 20, 3)
        colour = ("red", "green", "blue")[i % 3]
        weight = "" if i % 17 == 0 else round(math.cos(i * 0.7) * 3, 3)
        f.write(f"{i + 1},{size},{colour},{weight},{'yes' if size + (5 if colour == 'red' else 0) > 22 else 'no'}\n")
PY
$BIN train "$tmp/own.csv" --label outcome --model linear --cv 5 -o "$tmp/own.json" > "$tmp/own.out" 2> "$tmp/own.err"; rc=$?
check "train with only --label: inputs typed by content, the id left out, said so" \
  "[ $rc -eq 0 ] && grep -q 'inputs from .*own.csv: numeric size,weight; categorical colour; left out: row (numbers counting the rows: an id)' '$tmp/own.err'"
check "a label of two words: the second in order is the positive class" \
  "grep -q 'label outcome: \"yes\" is the positive class (1), \"no\" the other (0)' '$tmp/own.err'"
check "--cv without --fold-by folds by row index" "grep -q 'cv accuracy=' '$tmp/own.out' && grep -q '\"fold_by\":\"(row index)\"' '$tmp/own.json'"
check "its inputs never missing in the data are required, the one with gaps is not" \
  "$BIN inspect '$tmp/own.json' | grep -q 'size .*required' && ! $BIN inspect '$tmp/own.json' | grep -q 'weight .*required'"
$BIN train "$tmp/own.csv" --label outcome --positive no --model gbt --trees 5 -o "$tmp/own-no.json" 2> "$tmp/own.err"
printf 'size,colour,weight\n30,red,1\n' > "$tmp/own-row.csv"
yes_p=$($BIN predict "$tmp/own.json" --input "$tmp/own-row.csv" | tail -1 | cut -d, -f4)
no_p=$($BIN predict "$tmp/own-no.json" --input "$tmp/own-row.csv" | tail -1 | cut -d, -f4)
check "--positive no: the probability served is of \"no\" ($yes_p for yes, $no_p for no)" \
  "python3 -c 'import sys; sys.exit(not (float(\"$yes_p\") > 0.5 > float(\"$no_p\")))'"
$BIN train "$tmp/own.csv" -o "$tmp/x.json" 2> "$tmp/own.err"; rc=$?
check "train without --label names what is missing" "[ $rc -eq 2 ] && grep -q -- '--label COL (the column to predict) is missing' '$tmp/own.err'"
check "train --help prints the usage and succeeds" "$BIN train --help | grep -q 'usage: tabserve train'"
for c in eval predict explain inspect serve; do
  check "$c --help prints every option with its default and succeeds" \
    "$BIN $c --help > '$tmp/help' && grep -q 'usage: tabserve $c' '$tmp/help' && grep -q -- '--max-trees N \\[100000\\]\\|--max-trees' '$tmp/help' && grep -q '\\[' '$tmp/help'"
done
# three classes (made here: the class is which of x, y is larger, or neither by 1):
# a multiclass model by gradient-boosted trees, whatever --model defaults to
awk 'BEGIN { srand(7); print "x,y,kind"; for (i = 0; i < 300; i++) { x = rand() * 4; y = rand() * 4;
  k = x > y + 1 ? "wide" : (y > x + 1 ? "tall" : "square"); printf "%.3f,%.3f,%s\n", x, y, k } }' > "$tmp/three.csv"
$BIN train "$tmp/three.csv" --label kind --model gbt --cv 3 -o "$tmp/three.json" > "$tmp/three.out" 2> "$tmp/three.err"
check "a label of three classes trains a multiclass model and says so" \
  "grep -q 'label kind: 3 classes (square, tall, wide): gradient-boosted trees' '$tmp/three.err'"
check "its cross-validation reports accuracy and log-loss" "grep -Eq '^cv accuracy=0\.9[0-9]+ logloss=0\.[0-9]+$' '$tmp/three.out'"
$BIN train "$tmp/three.csv" --label kind --model auto --cv 3 -o "$tmp/three-auto.json" > "$tmp/three-auto.out" 2>/dev/null
check "--model auto with three classes: the five candidates cross-validated, the lowest log-loss chosen" \
  "grep -Eq '^candidate linear +cv accuracy=0\.[0-9]{4} logloss=0\.[0-9]{4}$' '$tmp/three-auto.out' &&
   [ \$(grep -c '^candidate [a-z-]* *cv accuracy=' '$tmp/three-auto.out') -eq 5 ] && [ \"\$(chosen_by logloss '$tmp/three-auto.out')\" = ok ] &&
   $BIN inspect '$tmp/three-auto.json' | grep -q 'the candidate with the lowest cross-validated log-loss'"
$BIN train "$tmp/three.csv" --label kind --model auto --cv 3 --ensemble 2 --activation tanh -o "$tmp/three-tanh.json" > "$tmp/three-tanh.out" 2>/dev/null
check "--model auto --activation tanh: the MLP candidate is tanh already, so no second one" \
  "[ \"\$(sed -n 's/^candidate \([a-z-]*\) *cv .*/\\1/p' '$tmp/three-tanh.out' | tr '\\n' ' ')\" = 'mlp gbt blend linear ' ]"
$BIN train "$tmp/three.csv" --label kind --model linear -o "$tmp/three-lin.json" 2>/dev/null
check "--model linear with three classes: a softmax over a linear layer" \
  "$BIN inspect '$tmp/three-lin.json' | grep -q '^estimator linear [0-9]* -> 3$'"
check "the model answers a probability per class, in class order" \
  "$BIN inspect '$tmp/three.json' | grep -q 'softmax' && $BIN predict '$tmp/three.json' --input '$tmp/three.csv' --output '$tmp/three-p.csv' &&
   head -1 '$tmp/three-p.csv' | grep -qx 'x,y,kind,predict_square,predict_tall,predict_wide' &&
   awk -F, 'NR > 1 { s = \$4 + \$5 + \$6; if (s < 0.9999 || s > 1.0001) bad = 1 } END { exit bad }' '$tmp/three-p.csv'"
check "eval of the multiclass model" "$BIN eval '$tmp/three.json' '$tmp/three.csv' --label kind | grep -Eq '^accuracy=0\.9[0-9]+ logloss=0\.[0-9]+ rows=300$'"
for kind in mlp blend; do
  $BIN train "$tmp/three.csv" --label kind --model $kind --ensemble 2 -o "$tmp/three-$kind.json" > "$tmp/three-$kind.out" 2>/dev/null
  check "--model $kind with three classes: a held-out figure, and a probability per class that sums to 1" \
    "grep -Eq '^held out 60 of 300 rows \(20%, seeded\): accuracy=(0\.9[0-9]{3}|1\.0000) logloss=0\.[0-9]{4}$' '$tmp/three-$kind.out' &&
     $BIN inspect '$tmp/three-$kind.json' | grep -q 'softmax' && $BIN predict '$tmp/three-$kind.json' --input '$tmp/three.csv' --output '$tmp/three-$kind.csv' &&
     awk -F, 'NR > 1 { s = \$4 + \$5 + \$6; if (s < 0.9999 || s > 1.0001) bad = 1 } END { exit bad }' '$tmp/three-$kind.csv'"
done
check "the held-out figure is kept in the model's metadata" \
  "$BIN inspect '$tmp/three-mlp.json' --json | python3 -c 'import json,sys; h = json.load(sys.stdin)[\"metadata\"][\"held_out\"]; sys.exit(not (h[\"rows\"] == 60 and h[\"fraction\"] == 0.2 and 0.9 <= h[\"accuracy\"] <= 1))'"

# --model auto past 10,000 rows: no nested estimate (it would fit each candidate k (k - 1) more times)
awk 'BEGIN { srand(5); print "x,z,y"; for (i = 0; i < 10050; i++) { x = rand(); z = rand();
  printf "%.4f,%.4f,%s\n", x, z, (x + z + rand() * 0.3 > 1.1 ? "yes" : "no") } }' > "$tmp/big.csv"
$BIN train "$tmp/big.csv" --label y --model auto --cv 2 --ensemble 1 --epochs 5 --trees 10 -o "$tmp/big.json" --quiet > "$tmp/big.out" 2>&1
check "--model auto on 10,050 rows: the candidates' CV, no nested estimate, said so in the output and the metadata" \
  "[ \$(grep -c '^candidate [a-z-]* *cv accuracy=' '$tmp/big.out') -eq 4 ] &&
   grep -qx 'nested cv not run: 10050 rows, over 10000 (it fits each candidate 2 more times)' '$tmp/big.out' &&
   [ \"\$(chosen_by logloss '$tmp/big.out')\" = ok ] && $BIN inspect '$tmp/big.json' --json | grep -q '\"not_run\": \"10050 rows, over 10000\"'"

# whole numbers: few values over many rows are classes, over few rows a regression; --objective decides
awk 'BEGIN { print "x,y"; for (i = 0; i < 30; i++) printf "%d.5,%d\n", i % 7, 150 + (i * 7) % 13 }' > "$tmp/whole.csv"
check "a label of 13 whole numbers on 30 rows is a regression (too few rows a value for classes)" \
  "$BIN train '$tmp/whole.csv' --label y -o '$tmp/whole.json' --quiet 2>&1 | grep -q 'label y holds numbers: a regression'"
check "--objective classes makes them classes" \
  "$BIN train '$tmp/whole.csv' --label y --objective classes -o '$tmp/whole-c.json' --quiet 2>&1 | grep -q 'label y: 13 classes (150, 151, 152, ...)'"
check "--objective classes on a label of one value says why not" \
  "awk -F, 'NR == 1 || \$2 == 150' '$tmp/whole.csv' > '$tmp/one.csv' && ! $BIN train '$tmp/one.csv' --label y --objective classes -o '$tmp/one.json' --quiet 2> '$tmp/one.err' &&
   grep -q 'label y has 1 value; classes take two or more' '$tmp/one.err'"

# a regression (made here: y = 3 x - 2 z + noise, z categorical): every --model trains it,
# a held-out R^2 is printed, --cv reports R^2, RMSE and MAE, and auto chooses by squared error
awk 'BEGIN { srand(11); print "x,z,y"; for (i = 0; i < 240; i++) { x = rand() * 4; z = int(rand() * 3);
  printf "%.4f,%s,%.4f\n", x, substr("abc", z + 1, 1), 3 * x - 2 * z + rand() * 0.5 } }' > "$tmp/reg.csv"
for kind in mlp linear gbt blend; do
  $BIN train "$tmp/reg.csv" --label y --model $kind --ensemble 2 -o "$tmp/reg-$kind.json" > "$tmp/reg-$kind.out" 2> "$tmp/reg-$kind.err"
  check "--model $kind trains a regression, says so and prints a held-out R^2" \
    "grep -q 'label y holds numbers: a regression' '$tmp/reg-$kind.err' && grep -Eq '^held out 48 of 240 rows \(20%, seeded\): r2=0\.9[0-9]{3} rmse=[0-9.]+ mae=[0-9.]+$' '$tmp/reg-$kind.out' &&
     $BIN inspect '$tmp/reg-$kind.json' | grep -q 'predicted y (regression, link identity)'"
done
check "--model linear on a regression is ridge regression" \
  "$BIN inspect '$tmp/reg-linear.json' --json | grep -q '\"squared error (ridge)\"'"
$BIN train "$tmp/reg.csv" --label y --model gbt --cv 4 -o "$tmp/reg-cv.json" > "$tmp/reg-cv.out" 2>/dev/null
check "--cv on a regression: R^2, RMSE and MAE per fold and their mean" \
  "[ \$(grep -c '^fold [0-3]: rows=60 r2=' '$tmp/reg-cv.out') -eq 4 ] && grep -Eq '^cv r2=0\.9[0-9]{3} rmse=[0-9.]+ mae=[0-9.]+$' '$tmp/reg-cv.out'"
$BIN train "$tmp/reg.csv" --label y --model auto --cv 3 --ensemble 2 -o "$tmp/reg-auto.json" > "$tmp/reg-auto.out" 2>/dev/null
check "--model auto on a regression: five candidates, the nested estimate, the lowest squared error chosen" \
  "[ \$(grep -c '^candidate [a-z-]* *cv r2=' '$tmp/reg-auto.out') -eq 5 ] && grep -q '^nested cv r2=' '$tmp/reg-auto.out' &&
   [ \"\$(chosen_by rmse '$tmp/reg-auto.out')\" = ok ] && $BIN inspect '$tmp/reg-auto.json' | grep -q 'lowest cross-validated squared error'"
[ $fails -eq 0 ] && echo "cli: all passed" || { echo "cli: $fails failed"; exit 1; }
