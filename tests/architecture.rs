//! Structural checks of `src/`, read from the source text (no compiler, no extra dependencies):
//!
//! 1. the modules do not import each other in a cycle (see [`node_of`] for the granularity);
//! 2. no file is too long (see [`MAX_NON_TEST_LINES`] and [`MAX_BIN_LINES`]);
//! 3. every protocol folder has the common shape and is registered once.
//!
//! Nodes and protocol folders are found by listing directories, so a new module or protocol is
//! checked without editing this file.
//!
//! The reader is a small tokenizer, not a parser: comments, strings and character literals are
//! dropped, items under `#[cfg(test)]` (and files declared by `#[cfg(test)] mod x;`) are test
//! code, and paths are followed from `crate::`, `super::`, `self::`, a child module's name
//! declared by `mod x;` in the same file, and `sekit::` in the binaries. It does not follow
//! `use` aliases (`use crate::protocols; protocols::registry::x` counts as an edge to
//! `protocols::core`) nor inline non-test `mod x { … }` blocks (their `super` is taken as the
//! file's).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Most lines of non-test code in one file of `src/`. Counted as *all* lines (blank lines and
/// comments included) minus the lines of `#[cfg(test)]` items, from the attribute to the end of
/// the item; files that are only compiled for tests (`#[cfg(test)] mod tests;`) are not counted.
const MAX_NON_TEST_LINES: usize = 800;

/// Most lines, all of them, in one `src/bin/*.rs`.
const MAX_BIN_LINES: usize = 150;

/// The top-level module split one level further into nodes of the import graph.
const SPLIT: &str = "protocols";

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

// ---------------------------------------------------------------------------------------------
// Tokens

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Open,
    Close,
    Comma,
    Semi,
    Star,
    Other(char),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    line: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Tokens of `src` without comments, string, byte-string and character literals.
fn tokenize(src: &str) -> Vec<Token> {
    let c: Vec<char> = src.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let (mut i, mut line) = (0usize, 1usize);
    // Skips a "…" string whose opening quote is at `i`; returns the index after it.
    let skip_string = |mut i: usize, line: &mut usize| {
        i += 1;
        while i < c.len() && c[i] != '"' {
            if c[i] == '\\' {
                i += 1;
            }
            if at(i) == '\n' {
                *line += 1;
            }
            i += 1;
        }
        i + 1
    };
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if c[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if ch == '"' {
            i = skip_string(i, &mut line);
            out.push(Token {
                tok: Tok::Other('"'),
                line,
            });
        } else if ch == '\'' {
            if at(i + 1) == '\\' {
                // '\n', '\'', '\u{1F600}'
                i += 3;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1; // a lifetime; its name follows as an identifier
            }
            out.push(Token {
                tok: Tok::Other('\''),
                line,
            });
        } else if is_ident_start(ch) {
            let start = i;
            while i < c.len() && is_ident_start(c[i]) {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            if (word == "r" || word == "br") && (at(i) == '#' || at(i) == '"') {
                let mut hashes = 0;
                while at(i + hashes) == '#' {
                    hashes += 1;
                }
                if at(i + hashes) == '"' {
                    // raw string: ends at `"` followed by as many `#`
                    i += hashes + 1;
                    while i < c.len() && !(c[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#')) {
                        if c[i] == '\n' {
                            line += 1;
                        }
                        i += 1;
                    }
                    i += hashes + 1;
                    out.push(Token {
                        tok: Tok::Other('"'),
                        line,
                    });
                    continue;
                }
                // raw identifier `r#name`
                i += hashes;
                let start = i;
                while i < c.len() && is_ident_start(c[i]) {
                    i += 1;
                }
                let word: String = c[start..i].iter().collect();
                out.push(Token {
                    tok: Tok::Ident(word),
                    line,
                });
                continue;
            }
            if word == "b" && at(i) == '"' {
                i = skip_string(i, &mut line);
                out.push(Token {
                    tok: Tok::Other('"'),
                    line,
                });
                continue;
            }
            out.push(Token {
                tok: Tok::Ident(word),
                line,
            });
        } else {
            let tok = match ch {
                ':' if at(i + 1) == ':' => {
                    i += 1;
                    Tok::Sep
                }
                '{' => Tok::Open,
                '}' => Tok::Close,
                ',' => Tok::Comma,
                ';' => Tok::Semi,
                '*' => Tok::Star,
                other => Tok::Other(other),
            };
            out.push(Token { tok, line });
            i += 1;
        }
    }
    out
}

fn ident(t: Option<&Token>) -> Option<&str> {
    match t.map(|t| &t.tok) {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

fn is(t: Option<&Token>, want: &Tok) -> bool {
    t.map(|t| &t.tok) == Some(want)
}

/// Index after the `]` matching the `[` at `i`.
fn skip_brackets(toks: &[Token], mut i: usize) -> usize {
    let mut depth = 0i32;
    while i < toks.len() {
        match toks[i].tok {
            Tok::Other('[') => depth += 1,
            Tok::Other(']') => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// Is `#[cfg(test)]` at `i`?
fn cfg_test_at(toks: &[Token], i: usize) -> bool {
    let want = [
        Tok::Other('#'),
        Tok::Other('['),
        Tok::Ident("cfg".into()),
        Tok::Other('('),
        Tok::Ident("test".into()),
        Tok::Other(')'),
        Tok::Other(']'),
    ];
    want.iter().enumerate().all(|(k, w)| is(toks.get(i + k), w))
}

/// One source file, split into non-test tokens and test code.
struct Source {
    /// Tokens outside `#[cfg(test)]` items.
    code: Vec<Token>,
    /// Line ranges (inclusive) of `#[cfg(test)]` items.
    test_lines: Vec<(usize, usize)>,
    /// Modules declared `#[cfg(test)] mod x;`.
    test_children: Vec<String>,
    /// Modules declared `mod x;` or `mod x { … }` outside tests.
    children: Vec<String>,
    /// The file starts with `#![cfg(test)]`.
    test_only: bool,
    lines: usize,
}

/// The module name of `mod x` starting at (possibly `pub`, `pub(…)`) `i`, if it is one.
fn mod_decl(toks: &[Token], mut i: usize) -> Option<(String, usize)> {
    if ident(toks.get(i)) == Some("pub") {
        i += 1;
        if is(toks.get(i), &Tok::Other('(')) {
            while i < toks.len() && !is(toks.get(i), &Tok::Other(')')) {
                i += 1;
            }
            i += 1;
        }
    }
    if ident(toks.get(i)) != Some("mod") {
        return None;
    }
    ident(toks.get(i + 1)).map(|n| (n.to_string(), i + 2))
}

fn read_source(text: &str) -> Source {
    let toks = tokenize(text);
    let test_only = matches!(
        toks.get(..3).map(|t| t.iter().map(|t| t.tok.clone()).collect::<Vec<_>>()),
        Some(v) if v == [Tok::Other('#'), Tok::Other('!'), Tok::Other('[')]
    ) && ident(toks.get(3)) == Some("cfg")
        && ident(toks.get(5)) == Some("test");
    let mut s = Source {
        code: Vec::new(),
        test_lines: Vec::new(),
        test_children: Vec::new(),
        children: Vec::new(),
        test_only,
        lines: text.lines().count(),
    };
    let mut i = 0;
    while i < toks.len() {
        if !cfg_test_at(&toks, i) {
            if let Some((name, _)) = mod_decl(&toks, i) {
                if i == 0 || !is(toks.get(i - 1), &Tok::Sep) {
                    s.children.push(name);
                }
            }
            s.code.push(toks[i].clone());
            i += 1;
            continue;
        }
        let first_line = toks[i].line;
        let mut j = i + 7;
        while is(toks.get(j), &Tok::Other('#')) {
            j = skip_brackets(&toks, j + 1);
        }
        if let Some((name, after)) = mod_decl(&toks, j) {
            if is(toks.get(after), &Tok::Semi) {
                s.test_children.push(name);
            }
        }
        let mut depth = 0i32;
        while j < toks.len() {
            match toks[j].tok {
                Tok::Open => depth += 1,
                Tok::Close => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                Tok::Semi if depth == 0 => break,
                _ => {}
            }
            j += 1;
        }
        let last_line = toks.get(j).map_or(s.lines, |t| t.line);
        s.test_lines.push((first_line, last_line));
        i = j + 1;
    }
    s
}

impl Source {
    fn non_test_lines(&self) -> usize {
        let mut test = BTreeSet::new();
        for &(a, b) in &self.test_lines {
            test.extend(a..=b);
        }
        self.lines - test.len()
    }
}

// ---------------------------------------------------------------------------------------------
// Files and modules

struct File {
    /// Relative to `src/`, with `/`.
    rel: String,
    /// Module path in the library; `None` for `src/bin/`.
    module: Option<Vec<String>>,
    src: Source,
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn module_of(rel: &str) -> Option<Vec<String>> {
    if rel.starts_with("bin/") {
        return None;
    }
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    Some(parts)
}

/// Every `.rs` file under `src/`, with test-only files (declared `#[cfg(test)] mod x;`, their
/// descendants, and `#![cfg(test)]` files) left out.
fn library_files() -> (Vec<File>, Vec<String>) {
    let src = src_dir();
    let mut paths = Vec::new();
    rs_files(&src, &mut paths);
    let mut files: Vec<File> = paths
        .iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = fs::read_to_string(p).unwrap_or_else(|e| panic!("{rel}: {e}"));
            File {
                module: module_of(&rel),
                src: read_source(&text),
                rel,
            }
        })
        .collect();
    let mut test_mods: Vec<Vec<String>> = Vec::new();
    for f in &files {
        if let Some(m) = &f.module {
            for c in &f.src.test_children {
                let mut m = m.clone();
                m.push(c.clone());
                test_mods.push(m);
            }
            if f.src.test_only {
                test_mods.push(m.clone());
            }
        }
    }
    let mut skipped = Vec::new();
    files.retain(|f| {
        let test = f
            .module
            .as_ref()
            .is_some_and(|m| test_mods.iter().any(|t| m.starts_with(t)));
        if test {
            skipped.push(f.rel.clone());
        }
        !test
    });
    (files, skipped)
}

/// Names of the directories and `.rs` files in `dir` (without `.rs`), minus `skip`.
fn entries(dir: &Path, skip: &[&str]) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name()?.to_string_lossy().into_owned();
            let name = if p.is_dir() {
                name
            } else {
                name.strip_suffix(".rs")?.to_string()
            };
            (!skip.contains(&name.as_str())).then_some(name)
        })
        .collect()
}

/// The graph's nodes: each top-level module (`capture`, `net`, …), except that `protocols` is
/// split into its children (`protocols::core`, `protocols::registry`, …, one per protocol
/// folder), plus `bin` for all of `src/bin/`.
struct Nodes {
    top: BTreeSet<String>,
    split: BTreeSet<String>,
}

impl Nodes {
    fn list() -> Nodes {
        let src = src_dir();
        Nodes {
            top: entries(&src, &["lib", "main", "bin"]),
            split: entries(&src.join(SPLIT), &["mod"]),
        }
    }

    /// The node holding the item at absolute module path `path`. `protocols` itself (its
    /// `mod.rs` and the items it re-exports) is `protocols::core`.
    fn node_of(&self, path: &[String]) -> Option<String> {
        let first = path.first()?;
        if !self.top.contains(first) {
            return None;
        }
        if first != SPLIT {
            return Some(first.clone());
        }
        match path.get(1) {
            Some(c) if self.split.contains(c) => Some(format!("{SPLIT}::{c}")),
            _ => Some(format!("{SPLIT}::core")),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Paths

/// Reads the rest of a path or `use` tree after `prefix` (the index is at a `::`), pushing every
/// leaf path. `self` in a group is the group's prefix; `*` ends a path.
fn read_tree(toks: &[Token], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    loop {
        if !is(toks.get(*i), &Tok::Sep) {
            out.push(path);
            return;
        }
        *i += 1;
        match toks.get(*i).map(|t| &t.tok) {
            Some(Tok::Ident(s)) => {
                if s != "self" {
                    path.push(s.clone());
                }
                *i += 1;
            }
            Some(Tok::Open) => {
                *i += 1;
                loop {
                    match toks.get(*i).map(|t| &t.tok) {
                        None => return,
                        Some(Tok::Close) => {
                            *i += 1;
                            return;
                        }
                        Some(Tok::Comma) => *i += 1,
                        Some(Tok::Ident(s)) => {
                            let mut sub = path.clone();
                            if s != "self" {
                                sub.push(s.clone());
                            }
                            *i += 1;
                            read_tree(toks, i, sub, out);
                            if ident(toks.get(*i)) == Some("as") {
                                *i += 2;
                            }
                        }
                        Some(Tok::Star) => {
                            out.push(path.clone());
                            *i += 1;
                        }
                        Some(_) => *i += 1,
                    }
                }
            }
            _ => {
                out.push(path);
                return;
            }
        }
    }
}

/// Absolute module paths named in `code` of a file at module path `module` (`None`: a binary,
/// whose only roots are `sekit::`), each with its line.
fn paths_in(
    code: &[Token],
    module: Option<&[String]>,
    children: &[String],
) -> Vec<(Vec<String>, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let root = ident(code.get(i));
        let after_sep = i > 0 && is(code.get(i - 1), &Tok::Sep);
        if root.is_none() || after_sep || !is(code.get(i + 1), &Tok::Sep) {
            i += 1;
            continue;
        }
        let root = root.unwrap();
        let line = code[i].line;
        let base: Option<Vec<String>> = match (module, root) {
            (None, "sekit") => Some(Vec::new()),
            (None, _) => None,
            (Some(_), "crate") => Some(Vec::new()),
            (Some(m), "self") => Some(m.to_vec()),
            (Some(m), "super") => Some(m[..m.len().saturating_sub(1)].to_vec()),
            (Some(m), c) if children.iter().any(|x| x == c) => {
                let mut m = m.to_vec();
                m.push(c.to_string());
                Some(m)
            }
            _ => None,
        };
        let Some(mut base) = base else {
            i += 1;
            continue;
        };
        i += 1;
        // `super::super::…`
        while is(code.get(i), &Tok::Sep) && ident(code.get(i + 1)) == Some("super") {
            base.pop();
            i += 2;
        }
        let mut leaves = Vec::new();
        read_tree(code, &mut i, base, &mut leaves);
        out.extend(leaves.into_iter().map(|p| (p, line)));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 1. No import cycle

/// Edge → first place it is seen (`file:line`).
type Graph = BTreeMap<String, BTreeMap<String, String>>;

fn import_graph() -> (Graph, Vec<String>) {
    let nodes = Nodes::list();
    let (files, skipped) = library_files();
    let mut graph: Graph = BTreeMap::new();
    for n in &nodes.top {
        if n == SPLIT {
            for c in &nodes.split {
                graph.entry(format!("{SPLIT}::{c}")).or_default();
            }
        } else {
            graph.entry(n.clone()).or_default();
        }
    }
    graph.entry("bin".into()).or_default();
    for f in &files {
        let from = match &f.module {
            None => Some("bin".to_string()),
            Some(m) => nodes.node_of(m),
        };
        let Some(from) = from else { continue };
        for (path, line) in paths_in(&f.src.code, f.module.as_deref(), &f.src.children) {
            let Some(to) = nodes.node_of(&path) else {
                continue;
            };
            if to != from {
                graph
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_insert_with(|| format!("src/{}:{line}", f.rel));
            }
        }
    }
    (graph, skipped)
}

/// Strongly connected components with more than one node (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g[v].keys() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = t.stack.pop().unwrap();
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g: graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// A shortest cycle through `start` inside `comp`, as `[start, …, start]`.
fn cycle_through(graph: &Graph, comp: &[String], start: &str) -> Vec<String> {
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in graph[v].keys() {
            if !comp.contains(w) {
                continue;
            }
            if w == start {
                let mut path = vec![start.to_string()];
                let mut at = v;
                while at != start {
                    path.push(at.to_string());
                    at = prev[at];
                }
                path.push(start.to_string());
                path.reverse();
                return path;
            }
            if !prev.contains_key(w.as_str()) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    unreachable!("a strongly connected component has a cycle through each node")
}

#[test]
fn modules_do_not_import_in_a_cycle() {
    let (graph, _) = import_graph();
    assert!(
        graph.len() > 5 && graph.keys().any(|n| n.starts_with("protocols::")),
        "too few modules found: {:?}",
        graph.keys().collect::<Vec<_>>()
    );
    let comps = cycles(&graph);
    let mut report = String::new();
    for comp in &comps {
        let cycle = cycle_through(&graph, comp, &comp[0]);
        report += &format!("\ncycle among {{{}}}:\n", comp.join(", "));
        for pair in cycle.windows(2) {
            let at = &graph[&pair[0]][&pair[1]];
            report += &format!("  {} -> {}   ({at})\n", pair[0], pair[1]);
        }
    }
    assert!(comps.is_empty(), "import cycles between modules:{report}");
}

/// Prints the graph (`cargo test --test architecture -- --nocapture print_import_graph`).
#[test]
fn print_import_graph() {
    let (graph, skipped) = import_graph();
    for (from, tos) in &graph {
        let tos: Vec<_> = tos.keys().map(String::as_str).collect();
        println!("{from} -> {}", tos.join(", "));
    }
    println!("test-only files, not read: {}", skipped.join(", "));
}

// ---------------------------------------------------------------------------------------------
// 2. Size

#[test]
fn files_are_not_too_long() {
    let (files, _) = library_files();
    let mut bad = Vec::new();
    for f in &files {
        if f.module.is_none() {
            if f.src.lines > MAX_BIN_LINES {
                bad.push(format!(
                    "src/{}: {} lines (binaries: at most {MAX_BIN_LINES})",
                    f.rel, f.src.lines
                ));
            }
        } else if f.src.non_test_lines() > MAX_NON_TEST_LINES {
            bad.push(format!(
                "src/{}: {} lines of non-test code (at most {MAX_NON_TEST_LINES})",
                f.rel,
                f.src.non_test_lines()
            ));
        }
    }
    assert!(bad.is_empty(), "files too long:\n  {}", bad.join("\n  "));
}

// ---------------------------------------------------------------------------------------------
// 3. Protocol folder shape

#[test]
fn protocol_folders_have_the_common_shape_and_are_registered_once() {
    let dir = src_dir().join(SPLIT);
    let registry = fs::read_to_string(dir.join("registry.rs")).expect("src/protocols/registry.rs");
    let registry = read_source(&registry);
    let mut folders: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    let mut found = 0;
    let mut bad = Vec::new();
    for folder in folders {
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(text) = fs::read_to_string(folder.join("mod.rs")) else {
            continue;
        };
        let code = read_source(&text).code;
        let declares = code.windows(3).any(|w| {
            w.iter().map(|t| ident(Some(t))).collect::<Vec<_>>()
                == [Some("pub"), Some("static"), Some("DESCRIPTOR")]
        });
        if !declares {
            continue;
        }
        found += 1;
        for part in ["frame", "codes"] {
            if !folder.join(format!("{part}.rs")).is_file()
                && !folder.join(part).join("mod.rs").is_file()
            {
                bad.push(format!("src/{SPLIT}/{name}: no {part}.rs"));
            }
        }
        let listed = registry
            .code
            .iter()
            .filter(|t| ident(Some(t)) == Some(name.as_str()))
            .count();
        if listed != 1 {
            bad.push(format!(
                "src/{SPLIT}/{name}: named {listed} times in src/{SPLIT}/registry.rs (want 1)"
            ));
        }
    }
    assert!(
        found > 0,
        "no protocol folder declares `pub static DESCRIPTOR`"
    );
    assert!(bad.is_empty(), "protocol folders:\n  {}", bad.join("\n  "));
}

// ---------------------------------------------------------------------------------------------
// The reader itself

#[test]
fn reader_follows_use_trees_and_skips_tests_comments_and_strings() {
    let text = r##"
//! [`crate::cli`] in a doc comment
use crate::{net::{self, link::X}, util::hex as h};
use super::super::registry::all;
fn f() { let _ = "crate::capture"; let _ = r#"crate::output"#; let c = '"'; crate::reassembly::go(); }
#[cfg(test)]
mod tests { use crate::pipeline::x; }
"##;
    let s = read_source(text);
    let module: Vec<String> = ["protocols", "sel", "frame"].map(String::from).to_vec();
    let paths: Vec<String> = paths_in(&s.code, Some(&module), &s.children)
        .into_iter()
        .map(|(p, _)| p.join("::"))
        .collect();
    assert_eq!(
        paths,
        [
            "net",
            "net::link::X",
            "util::hex",
            "protocols::registry::all",
            "reassembly::go"
        ]
    );
    assert_eq!(s.test_lines, [(6, 7)]);
    assert_eq!(s.non_test_lines(), 5);
}

#[test]
fn cycles_are_found_and_shown_as_a_path() {
    let mut g: Graph = BTreeMap::new();
    for (a, b) in [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")] {
        g.entry(a.into())
            .or_default()
            .insert(b.into(), String::new());
        g.entry(b.into()).or_default();
    }
    let comps = cycles(&g);
    assert_eq!(comps, [["a", "b", "c"]]);
    assert_eq!(cycle_through(&g, &comps[0], "a"), ["a", "b", "c", "a"]);
    g.get_mut("c").unwrap().remove("a");
    assert!(cycles(&g).is_empty());
}

#[test]
fn reader_resolves_child_modules_and_binaries() {
    let s = read_source(
        "pub mod core;\npub mod registry;\npub use self::core::X;\nfn f() { registry::all(); }\n",
    );
    let module = vec!["protocols".to_string()];
    let paths: Vec<String> = paths_in(&s.code, Some(&module), &s.children)
        .into_iter()
        .map(|(p, _)| p.join("::"))
        .collect();
    assert_eq!(paths, ["protocols::core::X", "protocols::registry::all"]);
    let s = read_source(
        "use sekit::protocols::{registry, DecodeConfig};\nmod local { use crate::x; }\n",
    );
    let paths: Vec<String> = paths_in(&s.code, None, &s.children)
        .into_iter()
        .map(|(p, _)| p.join("::"))
        .collect();
    assert_eq!(paths, ["protocols::registry", "protocols::DecodeConfig"]);
    let nodes = Nodes::list();
    let node = |p: &str| nodes.node_of(&p.split("::").map(String::from).collect::<Vec<_>>());
    assert_eq!(
        node("protocols::DecodeConfig").as_deref(),
        Some("protocols::core")
    );
    assert_eq!(
        node("protocols::registry").as_deref(),
        Some("protocols::registry")
    );
    assert_eq!(node("util::hex::encode").as_deref(), Some("util"));
    assert_eq!(node("std::fmt"), None);
}
