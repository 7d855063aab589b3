# satprobe --help, --version, help for each command, unknown commands and options.
. "$(dirname "$0")/lib.sh"

run --version
expect_rc 0 "--version"
expect_out_has "satprobe 0." "--version"

run --help
expect_rc 0 "--help"
cp "$tmp/out" "$tmp/help"
for c in langs check count accepts sample next gen; do
    checks=$((checks + 1))
    grep -q "^  $c " "$tmp/help" || fail "--help does not list $c"
    run "$c" --help
    expect_rc 0 "$c --help"
    expect_out_has "usage: satprobe $c" "$c --help"
    run help "$c"
    expect_rc 0 "help $c"
    expect_out_has "usage: satprobe $c" "help $c"
done

run
expect_rc 2 "no command"
expect_empty_out "no command"
expect_err_has "usage: satprobe <command>" "no command"

run frobnicate
expect_rc 2 "unknown command"
expect_err_has "'frobnicate' is not a command" "unknown command"

run count "$G/dyck-1.yaml" --bogus
expect_rc 2 "unknown option"
expect_empty_out "unknown option"

run count "$G/dyck-1.yaml" --max-length abc
expect_rc 2 "bad number"
expect_err_has "--max-length needs a non-negative integer, not 'abc'" "bad number"

run count "$G/dyck-1.yaml" --max-length -3
expect_rc 2 "negative number"

run count "$G/no-such-file.yaml"
expect_rc 2 "missing file"
expect_err_has "no-such-file.yaml: cannot open" "missing file"
finish
