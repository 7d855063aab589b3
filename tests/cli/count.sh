# satprobe count: exact counts, large counts, ranges.
. "$(dirname "$0")/lib.sh"

run count "$G/dyck-1.yaml" --max-length 10
expect_rc 0 "count dyck-1"
expect_out "0\t1\n1\t0\n2\t1\n3\t0\n4\t2\n5\t0\n6\t5\n7\t0\n8\t14\n9\t0\n10\t42" "count dyck-1"

# Catalan(32) at length 64 is exact; Dyck-2 at 100 is 2^50 * Catalan(50) = 2.2273246161779962e+42.
run count "$G/dyck-1.yaml" --min-length 64 --max-length 64
expect_out "64\t55534064877048198" "dyck-1 at 64"
run count "$G/dyck-2.yaml" --min-length 100 --max-length 100
expect_rc 0 "dyck-2 at 100"
expect_out_has "100	2.22732461617799" "dyck-2 at 100 is 2^50 * Catalan(50)"
expect_out_has "e+42" "dyck-2 at 100 in scientific notation"

run count "$G/anbncn.yaml" --max-length 9
expect_out "0\t0\n1\t0\n2\t0\n3\t1\n4\t0\n5\t0\n6\t1\n7\t0\n8\t0\n9\t1" "anbncn"

run count "$G/majority.yaml" --min-length 5 --max-length 5
expect_out "5\t16" "majority at 5"

run count "$G/dyck-1.yaml" --min-length 5 --max-length 4
expect_rc 2 "min above max"
expect_empty_out "min above max"
finish
