use std::io::Write;

use super::*;

/// Builds a .tgz from (path, content) pairs; `None` content makes a symlink to `/etc/passwd`.
pub(crate) fn tgz(files: &[(&str, Option<&[u8]>)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut b = tar::Builder::new(gz);
    for (path, content) in files {
        let mut h = tar::Header::new_gnu();
        match content {
            Some(c) => {
                h.set_size(c.len() as u64);
                h.set_mode(0o644);
                h.set_entry_type(tar::EntryType::Regular);
                // Write the name raw so tests can build hostile paths tar::Builder would refuse.
                h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
                h.set_cksum();
                b.append(&h, *c).expect("append");
            }
            None => {
                h.set_size(0);
                h.set_entry_type(tar::EntryType::Symlink);
                b.append_link(&mut h, path, "/etc/passwd").expect("link");
            }
        }
    }
    b.into_inner().expect("tar").finish().expect("gz")
}

const CHART: &[u8] = b"apiVersion: v2\nname: demo\nversion: 1.2.3\nappVersion: 1.10\n";

#[test]
fn reads_chart_yaml() {
    let t = tgz(&[
        ("demo/Chart.yaml", Some(CHART)),
        ("demo/values.yaml", Some(b"a: 1\n")),
        ("demo/templates/x.yaml", Some(b"kind: X\n")),
    ]);
    let m = read_chart("demo-1.2.3.tgz", &t, &ArchiveLimits::default()).expect("chart");
    assert_eq!(
        m,
        ChartMeta {
            name: "demo".into(),
            version: "1.2.3".into(),
            app_version: Some("1.1".into())
        }
    );
}

#[test]
fn quoted_app_version_keeps_its_text() {
    let t = tgz(&[(
        "demo/Chart.yaml",
        Some(b"name: demo\nversion: 0.1.0\nappVersion: \"1.10\"\n"),
    )]);
    assert_eq!(
        read_chart("d", &t, &ArchiveLimits::default())
            .expect("chart")
            .app_version
            .as_deref(),
        Some("1.10")
    );
}

#[test]
fn refuses_escaping_paths_links_and_second_folders() {
    for (files, needle) in [
        (
            vec![
                ("demo/Chart.yaml", Some(CHART)),
                ("demo/../../evil", Some(&b"x"[..])),
            ],
            "leaves the chart folder",
        ),
        (
            vec![("/etc/evil", Some(&b"x"[..]))],
            "leaves the chart folder",
        ),
        (
            vec![
                ("demo/Chart.yaml", Some(CHART)),
                ("other/x", Some(&b"x"[..])),
            ],
            "outside the chart folder",
        ),
        (
            vec![("demo/Chart.yaml", Some(CHART)), ("demo/link", None)],
            "link",
        ),
        (
            vec![("demo/values.yaml", Some(&b"a: 1"[..]))],
            "no Chart.yaml",
        ),
    ] {
        let err = read_chart("bad.tgz", &tgz(&files), &ArchiveLimits::default())
            .expect_err(needle)
            .to_string();
        assert!(err.contains(needle) && err.contains("bad.tgz"), "{err}");
    }
    let err = read_chart(
        "junk.tgz",
        b"<html>not found</html>",
        &ArchiveLimits::default(),
    )
    .expect_err("junk");
    assert!(matches!(err, Error::UnsafeArchive { .. }), "{err}");
}

#[test]
fn refuses_gzip_bombs_and_oversized_archives() {
    let zeros = vec![0u8; 50 << 20];
    let bomb = tgz(&[
        ("demo/Chart.yaml", Some(CHART)),
        ("demo/zeros", Some(&zeros)),
    ]);
    assert!(
        bomb.len() < 1 << 20,
        "the bomb compresses well: {}",
        bomb.len()
    );
    let err = read_chart("bomb.tgz", &bomb, &ArchiveLimits::default())
        .expect_err("bomb")
        .to_string();
    assert!(err.contains("compression ratio"), "{err}");
    let small = ArchiveLimits {
        max_compressed: 100,
        ..ArchiveLimits::default()
    };
    assert!(matches!(
        read_chart("big.tgz", &bomb, &small),
        Err(Error::TooLarge { .. })
    ));
    // A raw gzip stream of a huge tar header claiming a giant size is refused by the size cap.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let mut h = tar::Header::new_gnu();
    h.set_path("demo/huge").expect("path");
    h.set_size(1 << 40);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    gz.write_all(h.as_bytes()).expect("write");
    let liar = gz.finish().expect("gz");
    let err = read_chart("liar.tgz", &liar, &ArchiveLimits::default())
        .expect_err("liar")
        .to_string();
    assert!(err.contains("uncompressed"), "{err}");
}

#[test]
fn chart_yaml_errors_have_positions() {
    let t = tgz(&[("demo/Chart.yaml", Some(b"name: demo\nversion: [1\n"))]);
    let err = read_chart("demo.tgz", &t, &ArchiveLimits::default()).expect_err("yaml");
    assert!(matches!(err, Error::Yaml { line: 2.., .. }), "{err}");
}
