//! The fuzz target's entry function over a corpus of hostile inputs, plus a cheap
//! in-process fuzz from expression-token soup. No input may panic (issue #2, "Bad input").

use dynasim_engine::fuzz::parse_any_expression;
use proptest::prelude::*;

fn corpus() -> Vec<Vec<u8>> {
    let mut inputs: Vec<String> = [
        "",
        " ",
        "(",
        ")",
        "((",
        "))",
        "()",
        "#",
        ":",
        "#:",
        ":#",
        "[",
        "]",
        "[]",
        "a[",
        "a[]",
        "a[-1]",
        "a.",
        ".a",
        "a..b",
        "a[99999999999999999999999999]",
        "a = :v",
        "a = :v AND",
        "AND",
        "NOT",
        "NOT NOT",
        "BETWEEN",
        "a BETWEEN",
        "a BETWEEN :s",
        "a BETWEEN :s AND",
        "a IN",
        "a IN (",
        "a IN ()",
        "a IN (:s,)",
        "size",
        "size(",
        "size()",
        "size(a",
        "size(a)",
        "size(size(a))",
        "attribute_exists()",
        "attribute_exists(a, b, c)",
        "attribute_type(a)",
        "contains(a, a)",
        "begins_with(:s, :s)",
        "SET",
        "SET a",
        "SET a =",
        "SET a = :s,",
        "SET a = if_not_exists(",
        "SET a = if_not_exists(a)",
        "SET a = list_append(:l, :l, :l)",
        "SET a = :n + :n - :n",
        "SET a = (:n + :n) + :n",
        "SET a[0] = :s REMOVE a.b",
        "REMOVE",
        "REMOVE a,",
        "ADD a",
        "ADD a :s :s",
        "DELETE a :ss",
        "DELETE",
        "SET a = :s SET b = :s",
        "set a=:s remove b add c :n delete d :ss",
        "#a.#b[0].#n",
        "a.b.c.d.e",
        "\u{0}",
        "a\u{0} = :s",
        "é = :s",
        "a = :é",
        "🦀",
        "a = :s 🦀",
        "\u{feff}a = :s",
        "a\t=\r\n:s",
        "<>",
        "<= >=",
        "a <>> :s",
        "(a) = :s",
        "((a)) = :s",
        "((a = :s))",
        "(a = :s) AND ((b = :s))",
        "NOT (a)",
        "a = :s OR",
        "OR a = :s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    inputs.push("(".repeat(5000));
    inputs.push(format!("{}a = :s{}", "(".repeat(3000), ")".repeat(3000)));
    inputs.push(format!("{}a = :s", "NOT ".repeat(1500)));
    inputs.push(vec!["a = :s"; 600].join(" AND "));
    inputs.push(format!("a IN ({})", vec![":s"; 150].join(", ")));
    inputs.push(format!(
        "SET {}",
        (0..500)
            .map(|i| format!("a{i} = :s"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    inputs.push(format!("a{} = :s", ".b".repeat(40)));
    inputs.push(format!("a{} = :s", "[0]".repeat(40)));
    inputs.push("x".repeat(4097));
    inputs.push(format!("#{}", "n".repeat(300)));
    inputs.push(format!("size({}a{})", "(".repeat(200), ")".repeat(200)));
    inputs.push(format!(
        "SET a = {}:s{}",
        "list_append(".repeat(200),
        ", :l)".repeat(200)
    ));
    inputs.push(format!("SET a = {}", "if_not_exists(a, ".repeat(300)));
    let mut bytes: Vec<Vec<u8>> = inputs.into_iter().map(String::into_bytes).collect();
    bytes.push(vec![0xFF, 0xFE, b'a']);
    bytes.push(vec![b'a', b' ', b'=', b' ', 0xC3]);
    // Every prefix of a few valid expressions.
    for valid in [
        "attribute_not_exists(#k) OR (size(m.l[2]) BETWEEN :n AND :n AND NOT contains(#b, :s))",
        "SET a = if_not_exists(a, :n) + :n, l = list_append(l, :l) REMOVE x[1] ADD c :n DELETE ss :ss",
        "a, #n.b[3].c, d",
    ] {
        for end in 0..=valid.len() {
            bytes.push(valid.as_bytes()[..end].to_vec());
        }
    }
    bytes
}

#[test]
fn fuzz_entry_survives_hostile_corpus() {
    let mut parsed = 0;
    for input in corpus() {
        parsed += parse_any_expression(&input);
    }
    assert!(parsed > 10, "the corpus also holds valid expressions");
}

const TOKENS: &[&str] = &[
    "a",
    "b",
    "#a",
    "#b",
    "#n",
    ":s",
    ":n",
    ":l",
    ":ss",
    ":x",
    "(",
    ")",
    "[",
    "]",
    "0",
    "3",
    ",",
    ".",
    "=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "AND",
    "OR",
    "NOT",
    "BETWEEN",
    "IN",
    "SET",
    "REMOVE",
    "ADD",
    "DELETE",
    "size",
    "contains",
    "begins_with",
    "attribute_exists",
    "attribute_type",
    "if_not_exists",
    "list_append",
    "name",
    " ",
    "_",
    "!",
    "é",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(picks in proptest::collection::vec(0..TOKENS.len(), 0..40)) {
        let text: String = picks.iter().map(|&i| TOKENS[i]).collect::<Vec<_>>().join(" ");
        parse_any_expression(text.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        parse_any_expression(&bytes);
    }
}
