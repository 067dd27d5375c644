#!/bin/bash
# wakewordd infer: options, input matching, output files (.pb and .npy, whole
# or not at all), batch through a symbolic axis, and its error paths.
. "$(dirname "$0")/lib.sh"
FIX=$ROOT/tests/fixtures/onnx/resnet18_w8_stem7_op13
CONF=/usr/share/libonnx-testdata/data/node

t_run help 0 "$WW" infer --help && grep -q "usage: wakewordd infer" <<<"$OUT" && t_ok help
t_run bad_option 2 "$WW" infer --frobnicate x.onnx && t_ok bad_option
t_run no_model 2 "$WW" infer && t_ok no_model
t_run two_models 2 "$WW" infer a.onnx b.onnx && t_ok two_models

# batch 2 through the symbolic axis, .npy out
if t_run npy_batch2 0 "$WW" infer "$FIX/model.onnx" --input "features=$FIX/input.npy" \
    --output-dir "$TMP/o1" --npy; then
    if grep -q '^logits float32 \[2, 2\]:' <<<"$OUT" && [ -s "$TMP/o1/logits.npy" ]; then
        t_ok npy_batch2
    else
        t_fail npy_batch2 "stdout: $OUT" "$(ls -la "$TMP/o1" 2>&1)"
    fi
fi

# .pb out, and the written TensorProto reads back as an input
if t_run pb_out 0 "$WW" infer "$CONF/test_relu/model.onnx" \
    --input "$CONF/test_relu/test_data_set_0/input_0.pb" --output-dir "$TMP/o2"; then
    if [ -s "$TMP/o2/y.pb" ]; then
        t_run pb_roundtrip 0 "$WW" infer "$CONF/test_relu/model.onnx" --input "x=$TMP/o2/y.pb" &&
            grep -q '^y float32 \[3, 4, 5\]:' <<<"$OUT" && t_ok pb_roundtrip
        t_ok pb_out
    else
        t_fail pb_out "no $TMP/o2/y.pb"
    fi
fi

# inputs matched by the TensorProto's name regardless of order
t_run by_proto_name 0 "$WW" infer "$CONF/test_add/model.onnx" \
    --input "$CONF/test_add/test_data_set_0/input_1.pb" \
    --input "$CONF/test_add/test_data_set_0/input_0.pb" && t_ok by_proto_name

t_expect_error missing_model "no_such.onnx: No such file" "$WW" infer "$TMP/no_such.onnx"
t_run missing_input 2 "$WW" infer "$FIX/model.onnx" && grep -q "no --input for 'features'" <<<"$ERR" &&
    t_ok missing_input
t_run unknown_input_name 2 "$WW" infer "$FIX/model.onnx" --input "nope=$FIX/input.npy" &&
    grep -q "has no input named 'nope'" <<<"$ERR" && t_ok unknown_input_name
t_expect_error input_file_missing "$TMP/none.npy" "$WW" infer "$FIX/model.onnx" \
    --input "features=$TMP/none.npy"
printf 'garbage' >"$TMP/garbage.pb"
t_expect_error input_not_tensor "neither .npy nor an ONNX TensorProto" "$WW" infer \
    "$FIX/model.onnx" --input "features=$TMP/garbage.pb"
t_expect_error wrong_dtype "must be float32, the file holds int64" "$WW" infer "$FIX/model.onnx" \
    --input "features=$CONF/test_gather_0/test_data_set_0/input_1.pb"
t_expect_error wrong_shape "input 'features' axis 2 must be 64, not 5" "$WW" infer \
    "$FIX/model.onnx" --input "features=$CONF/test_basic_conv_with_padding/test_data_set_0/input_0.pb"
t_expect_error wrong_rank "input 'features' must have rank 4, not 2" "$WW" infer "$FIX/model.onnx" \
    --input "features=$ROOT/tests/fixtures/mel/speech.default.npy"

# an output directory that cannot be written: error, nothing left behind
mkdir -p "$TMP/ro" && chmod 555 "$TMP/ro"
if [ "$(id -u)" -ne 0 ]; then
    t_expect_error unwritable_dir "$TMP/ro" "$WW" infer "$FIX/model.onnx" \
        --input "features=$FIX/input.npy" --output-dir "$TMP/ro"
fi
: >"$TMP/file_not_dir"
t_expect_error outdir_is_file "file_not_dir" "$WW" infer "$FIX/model.onnx" \
    --input "features=$FIX/input.npy" --output-dir "$TMP/file_not_dir/sub"
left=$(find "$TMP/ro" "$TMP/o1" -name '.*' -type f | wc -l)
[ "$left" -eq 0 ] && t_ok no_temp_files_left || t_fail no_temp_files_left "$left temp files"

# an op the engine does not run: one line naming node and op
t_expect_error unsupported_op "node 'y' (Tanh): operator not supported" "$WW" infer \
    "$CONF/test_tanh/model.onnx" --input "$CONF/test_tanh/test_data_set_0/input_0.pb"
t_done
