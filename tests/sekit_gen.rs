//! `sekit-gen DIR`: completions (bash, zsh, fish) and man pages for every binary, written from
//! the clap definitions; and no `--help` points into the source tree.

use std::path::PathBuf;
use std::process::Command;

/// Every binary, with one long flag its completions and man page must carry (named here, not
/// read from the code under test).
const TOOLS: &[(&str, &str, &str)] = &[
    (
        "seextract",
        env!("CARGO_BIN_EXE_seextract"),
        "--reveal-secrets",
    ),
    ("sefollow", env!("CARGO_BIN_EXE_sefollow"), "--no-hash"),
    ("sedecode", env!("CARGO_BIN_EXE_sedecode"), "--proto"),
    ("se2csv", env!("CARGO_BIN_EXE_se2csv"), "--max-line"),
    ("se2state", env!("CARGO_BIN_EXE_se2state"), "--max-line"),
    ("sereplay", env!("CARGO_BIN_EXE_sereplay"), "push"),
    ("selog", env!("CARGO_BIN_EXE_selog"), "--last-interval"),
    ("seserve", env!("CARGO_BIN_EXE_seserve"), "--listen"),
    ("sekit-gen", env!("CARGO_BIN_EXE_sekit-gen"), "--help"),
];

fn out_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("sekit-gen-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The page as man renders it (groff), or None when neither is installed.
fn render(page: &std::path::Path) -> Option<String> {
    let o = Command::new("man")
        .arg("-l")
        .arg(page)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "200")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .or_else(|| {
            Command::new("groff")
                .args(["-man", "-Tutf8"])
                .arg(page)
                .output()
                .ok()
                .filter(|o| o.status.success())
        })?;
    // Overstrike (bold/underline) as a terminal pager would show it, removed.
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut clean = String::new();
    for c in text.chars() {
        if c == '\u{8}' {
            clean.pop();
        } else {
            clean.push(c);
        }
    }
    // Justified text: runs of spaces as one.
    let words: Vec<&str> = clean.split(' ').filter(|w| !w.is_empty()).collect();
    Some(words.join(" ").replace('‐', "-"))
}

#[test]
fn writes_completions_and_man_pages_for_every_binary() {
    let d = out_dir();
    let o = Command::new(env!("CARGO_BIN_EXE_sekit-gen"))
        .arg(&d)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let listed = String::from_utf8_lossy(&o.stdout);
    for &(name, _, flag) in TOOLS {
        let bash = d.join(format!("completions/bash/{name}.bash"));
        let zsh = d.join(format!("completions/zsh/_{name}"));
        let fish = d.join(format!("completions/fish/{name}.fish"));
        let man = d.join(format!("man/man1/{name}.1"));
        for p in [&bash, &zsh, &fish, &man] {
            assert!(
                listed.contains(&*p.to_string_lossy()),
                "{} not listed",
                p.display()
            );
        }
        let b = read(&bash);
        assert!(b.contains("complete -F"), "{name}: {b}");
        assert!(b.contains(flag), "{name} bash completion lacks {flag}");
        let f = read(&fish);
        assert!(f.contains(&format!("complete -c {name}")), "{name}: {f}");
        let z = read(&zsh);
        assert!(z.starts_with(&format!("#compdef {name}")), "{name}: {z}");
        let page = read(&man);
        assert!(page.contains(".TH"), "{name}: {page}");
        if let Some(text) = render(&man) {
            assert!(
                text.contains("NAME") && text.contains(name),
                "{name}: {text}"
            );
            assert!(text.contains(flag), "{name} man page lacks {flag}: {text}");
            assert!(
                text.contains("Exit status")
                    || name == "selog"
                    || name == "seserve"
                    || name == "sekit-gen",
                "{name}: {text}"
            );
        } else {
            eprintln!("neither man nor groff: man pages checked as text only");
            assert!(page.contains(&flag.replace('-', "\\-")), "{name}: {page}");
        }
    }
    // Each sereplay mode has its page, with the mode's own options.
    let push = d.join("man/man1/sereplay-push.1");
    let text = render(&push).unwrap_or_else(|| read(&push).replace("\\-", "-"));
    assert!(
        text.contains("--target") && text.contains("--expect-reply"),
        "{text}"
    );
    // The record formats, as a page of section 7.
    let fmt = d.join("man/man7/sekit-format.7");
    let text = render(&fmt).unwrap_or_else(|| read(&fmt));
    assert!(text.contains("\"type\"") && text.contains("flow"), "{text}");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn help_points_to_no_source_path() {
    for &(name, bin, _) in TOOLS {
        let o = Command::new(bin).arg("--help").output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{name}");
        let help = String::from_utf8_lossy(&o.stdout);
        assert!(
            !help.contains("docs/") && !help.contains(".md"),
            "{name}: {help}"
        );
        assert!(
            help.contains("sekit-gen"),
            "{name} --help does not say where the docs are: {help}"
        );
    }
}

#[test]
fn unwritable_directory_is_an_error() {
    let f = std::env::temp_dir().join(format!("sekit-gen-file-{}", std::process::id()));
    std::fs::write(&f, b"x").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_sekit-gen"))
        .arg(f.join("sub"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("sekit-gen: error"));
    let _ = std::fs::remove_file(&f);
}
