//! Parsing `git ls-remote` output.

use crate::Error;

/// The object id `ls-remote` printed for exactly `refname`, if present.
pub fn parse_ls_remote(output: &str, refname: &str) -> Result<Option<String>, Error> {
    for line in output.lines() {
        let Some((oid, name)) = line.split_once('\t') else {
            return Err(Error::Git {
                command: "ls-remote".into(),
                status: "0".into(),
                stderr: format!("unexpected line {line:?}"),
            });
        };
        if name == refname {
            let valid = matches!(oid.len(), 40 | 64)
                && oid
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !valid {
                return Err(Error::Git {
                    command: "ls-remote".into(),
                    status: "0".into(),
                    stderr: format!("bad object id {oid:?}"),
                });
            }
            return Ok(Some(oid.to_string()));
        }
    }
    Ok(None)
}

/// True when `branch` is a name git accepts under `refs/heads/` (a subset of check-ref-format).
pub fn valid_branch(branch: &str) -> bool {
    !branch.is_empty()
        && !branch.starts_with(['-', '/', '.'])
        && !branch.ends_with(['/', '.'])
        && !branch.ends_with(".lock")
        && !branch.contains("..")
        && !branch.contains("//")
        && !branch.contains("@{")
        && !branch
            .bytes()
            .any(|b| b < 0x20 || b == 0x7f || b" ~^:?*[\\".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_exact_ref() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let out = format!("{a}\trefs/heads/main-old\n{b}\trefs/heads/main\n");
        assert_eq!(
            parse_ls_remote(&out, "refs/heads/main").expect("parse"),
            Some(b)
        );
        assert_eq!(
            parse_ls_remote(&out, "refs/heads/dev").expect("parse"),
            None
        );
        assert_eq!(parse_ls_remote("", "refs/heads/main").expect("parse"), None);
        assert!(parse_ls_remote("garbage\n", "refs/heads/main").is_err());
        assert!(parse_ls_remote("xyz\trefs/heads/main\n", "refs/heads/main").is_err());
    }

    #[test]
    fn branch_names() {
        for ok in ["main", "release/1.x", "feature-a_b"] {
            assert!(valid_branch(ok), "{ok}");
        }
        for bad in ["", "-x", "a..b", "a b", "a:b", "x.lock", "a/", "@{u}"] {
            assert!(!valid_branch(bad), "{bad}");
        }
    }
}
