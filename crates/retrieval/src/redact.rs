//! Secrets removed from text before it is sent to a model: private key blocks, credentials in connection
//! strings, JWTs, bearer and basic credentials, API keys of common providers, AWS access and secret keys, and
//! generic `password=`/`token=`/`secret=`/`api_key:` assignments (also quoted, as in JSON or YAML); and, when
//! asked, email and IP addresses. Each is replaced by a typed placeholder (`[REDACTED:password]`) and counted
//! by kind; the values themselves are never kept.
//!
//! Redaction errs on the side of removing: a false positive costs a word of context, a false negative leaks a
//! credential. Ordinary operational text (commands, SQL, ids, hashes, timestamps, versions) is left as it is.

use regex::{Captures, Regex};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// What redaction removed: counts by kind (`password`, `api_key`, `email`…).
pub type Counts = BTreeMap<String, u32>;

/// Text with its secrets replaced, and what was replaced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    pub counts: Counts,
}

/// The placeholder of a kind.
#[must_use]
pub fn placeholder(kind: &str) -> String {
    format!("[REDACTED:{kind}]")
}

/// Adds `more` to `counts`.
pub fn merge_counts(counts: &mut Counts, more: &Counts) {
    for (k, v) in more {
        *counts.entry(k.clone()).or_default() += v;
    }
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid redaction pattern")
}

static PRIVATE_KEY: LazyLock<Regex> = LazyLock::new(|| {
    // A whole block, or a truncated one up to the end of the text.
    re(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
    )
});
static CONNECTION: LazyLock<Regex> = LazyLock::new(|| {
    // scheme://user:password@host (the user may be empty: redis://:password@host).
    re(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^\s:/@\[\]]*):([^\s@/]+)@")
});
static JWT: LazyLock<Regex> =
    LazyLock::new(|| re(r"\beyJ[A-Za-z0-9_\-]{4,}\.eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}"));
static AUTH_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(authorization\s*[:=]\s*)(bearer|basic|token|bot)?\s*([A-Za-z0-9._~+/=\-]{6,})")
});
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(bearer)\s+([A-Za-z0-9._~+/\-]{8,}=*)"));
static PROVIDER_KEYS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // OpenAI, Anthropic and similar `sk-` keys.
        r"\bsk-(?:proj-|ant-|live-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}",
        // GitHub.
        r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}",
        r"\bgithub_pat_[A-Za-z0-9_]{20,}",
        // GitLab.
        r"\bglpat-[A-Za-z0-9_\-]{16,}",
        // Slack tokens and webhooks.
        r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",
        r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]+",
        // Google API keys.
        r"\bAIza[0-9A-Za-z_\-]{30,}",
        // Stripe.
        r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}",
        // SendGrid.
        r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}",
        // npm, Hugging Face, PyPI, DigitalOcean, Datadog-style prefixed tokens.
        r"\bnpm_[A-Za-z0-9]{30,}",
        r"\bhf_[A-Za-z0-9]{30,}",
        r"\bpypi-[A-Za-z0-9_\-]{40,}",
        r"\bdo[pro]_v1_[a-f0-9]{40,}",
        // Twilio, Mailgun.
        r"\bSK[0-9a-fA-F]{32}\b",
        r"\bkey-[0-9a-zA-Z]{32}\b",
    ]
    .iter()
    .map(|p| re(p))
    .collect()
});
static AWS_ACCESS_KEY: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}\b"));
/// A run of base64 characters; one of exactly 40 mixing cases and digits is an AWS secret key.
static BASE64_RUN: LazyLock<Regex> = LazyLock::new(|| re(r"[A-Za-z0-9/+=]{40,}"));
static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    // key = value, key: value, "key": "value", --key=value, --key value (flags only), KEY=value.
    re(concat!(
        r#"(?i)((?:^|[^A-Za-z0-9])["']?[A-Za-z0-9_.\-]*"#,
        r"(?:passwd|password|passphrase|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key|client[_\-]?secret|credentials?|auth[_\-]?key)",
        r#"[A-Za-z0-9_.\-]*["']?)(\s*[:=]\s*|\s+)(["']?)([^\s"'`,;&<>)\]}]{3,})"#
    ))
});
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b")
});
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b",
    )
});
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)(?:\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b",
        r"|\b(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4}\b",
        r"|\b(?:[0-9a-f]{1,4}:){1,7}:(?:[^0-9a-z:]|$))"
    ))
});

/// The kind a generic assignment's key names.
fn assignment_kind(key: &str) -> &'static str {
    let k = key.to_ascii_lowercase();
    if k.contains("pass") || k.contains("pwd") {
        "password"
    } else if k.contains("private") {
        "private_key"
    } else if k.contains("secret") || k.contains("credential") {
        "secret"
    } else if k.contains("token") {
        "token"
    } else {
        "api_key"
    }
}

/// Removes secrets (and, with `contacts`, email and IP addresses) from `text`.
#[must_use]
pub fn redact(text: &str, contacts: bool) -> Redacted {
    let mut counts = Counts::new();
    let mut count = |kind: &str| *counts.entry(kind.to_owned()).or_default() += 1;
    let mut s = text.to_owned();

    s = replace(&s, &PRIVATE_KEY, |_| {
        count("private_key");
        placeholder("private_key")
    });
    s = replace(&s, &CONNECTION, |c| {
        if is_placeholder(&c[3]) {
            return c[0].to_owned();
        }
        count("password");
        format!("{}{}:{}@", &c[1], &c[2], placeholder("password"))
    });
    s = replace(&s, &JWT, |_| {
        count("jwt");
        placeholder("jwt")
    });
    s = replace(&s, &AUTH_HEADER, |c| {
        let scheme_alone = c.get(2).is_none()
            && ["bearer", "basic", "token", "bot"].contains(&c[3].to_ascii_lowercase().as_str());
        if is_placeholder(&c[3]) || scheme_alone {
            return c[0].to_owned();
        }
        count("token");
        let scheme = c
            .get(2)
            .map_or(String::new(), |m| format!("{} ", m.as_str()));
        format!("{}{scheme}{}", &c[1], placeholder("token"))
    });
    s = replace(&s, &BEARER, |c| {
        count("bearer_token");
        format!("{} {}", &c[1], placeholder("bearer_token"))
    });
    for provider in PROVIDER_KEYS.iter() {
        s = replace(&s, provider, |_| {
            count("api_key");
            placeholder("api_key")
        });
    }
    s = replace(&s, &AWS_ACCESS_KEY, |_| {
        count("aws_access_key");
        placeholder("aws_access_key")
    });
    s = replace(&s, &BASE64_RUN, |c| {
        let run = &c[0];
        let core = run.trim_end_matches('=');
        let mixed = core.len() == 40
            && core.bytes().any(|b| b.is_ascii_uppercase())
            && core.bytes().any(|b| b.is_ascii_lowercase())
            && core.bytes().any(|b| b.is_ascii_digit());
        if mixed {
            count("aws_secret_key");
            placeholder("aws_secret_key")
        } else {
            run.to_owned()
        }
    });
    s = replace(&s, &ASSIGNMENT, |c| {
        let (key, sep, quote, value) = (&c[1], &c[2], &c[3], &c[4]);
        // `--password value` and `password: value` are assignments; `token expired` is prose.
        let flag = key.trim_start_matches(|ch: char| !ch.is_ascii_alphanumeric() && ch != '-');
        let spaced = sep.trim().is_empty();
        if is_placeholder(value) || (spaced && !flag.starts_with("--")) {
            return c[0].to_owned();
        }
        let kind = assignment_kind(key);
        count(kind);
        format!("{key}{sep}{quote}{}", placeholder(kind))
    });
    if contacts {
        s = replace(&s, &EMAIL, |_| {
            count("email");
            placeholder("email")
        });
        s = replace(&s, &IPV4, |_| {
            count("ip_address");
            placeholder("ip_address")
        });
        s = replace(&s, &IPV6, |c| {
            let m = &c[0];
            // The pattern may take the character after a trailing `::`; keep it.
            let (addr, rest) = match m.char_indices().last() {
                Some((i, ch)) if !ch.is_ascii_hexdigit() && ch != ':' => m.split_at(i),
                _ => (m, ""),
            };
            if addr.chars().all(|ch| ch.is_ascii_digit() || ch == ':') && !addr.contains("::") {
                // A time (12:30:45) or a port list, not an address.
                return m.to_owned();
            }
            count("ip_address");
            format!("{}{rest}", placeholder("ip_address"))
        });
    }
    Redacted { text: s, counts }
}

fn is_placeholder(s: &str) -> bool {
    s.starts_with("[REDACTED")
}

fn replace(s: &str, re: &Regex, mut f: impl FnMut(&Captures<'_>) -> String) -> String {
    re.replace_all(s, |c: &Captures<'_>| f(c)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (no external crate): the same cases on every run.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[(self.next() as usize) % xs.len()]
        }
        fn chars(&mut self, alphabet: &str, n: usize) -> String {
            let a: Vec<char> = alphabet.chars().collect();
            (0..n)
                .map(|_| a[(self.next() as usize) % a.len()])
                .collect()
        }
    }

    const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const UPPER_NUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+";

    const ORDINARY: &[&str] = &[
        "kubectl rollout restart deployment/checkout-api -n prod",
        "kubectl get pods -n payments --sort-by=.status.containerStatuses[0].restartCount",
        "SELECT pid, now() - xact_start AS age FROM pg_stat_activity WHERE state <> 'idle' ORDER BY age DESC;",
        "aws rds describe-db-instances --db-instance-identifier orders-replica-2 --region eu-west-1",
        "The replication lag on orders-db reached 45s at 03:12:09 UTC; consumers were scaled out to 12.",
        "Deployed version 2.14.3 (commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b) and the error rate fell.",
        "Incident 3fa85f64-5717-4562-b3fc-2c963f66afa6 resolved after the token bucket refilled.",
        "The session token expired for some users; re-login fixed it.",
        "Check the password reset emails queue depth in the dashboard.",
        "curl -s https://status.example.com/health | jq .checks",
        "systemctl status nginx && journalctl -u nginx --since '10 min ago'",
        "Rotate the secret via the vault UI, then restart the pods.",
        "redis-cli -h cache-1 INFO replication",
        "Latency p95 went from 120ms to 2.3s between 14:05 and 14:20.",
    ];

    /// A planted secret and the context it sits in; returns (text, secret value).
    fn plant(g: &mut Lcg) -> (String, String) {
        let case = g.next() % 15;
        let (text, secret) = match case {
            0 => {
                let v = format!("sk-proj-{}", g.chars(ALNUM, 40));
                (format!("export OPENAI_API_KEY={v}"), v)
            }
            1 => {
                let v = format!("ghp_{}", g.chars(ALNUM, 36));
                (
                    format!("git clone https://github.com/acme/x with token {v}"),
                    v,
                )
            }
            2 => {
                let v = format!("AKIA{}", g.chars(UPPER_NUM, 16));
                (format!("aws configure set aws_access_key_id {v}"), v)
            }
            3 => {
                let mut v = g.chars(B64, 38);
                v.push_str("A1");
                v.insert(5, 'z');
                v.truncate(40);
                (format!("aws_secret_access_key = {v}"), v)
            }
            4 => {
                let v = g.chars(ALNUM, 12);
                (
                    format!("psql postgres://admin:{v}@db.internal:5432/orders"),
                    v,
                )
            }
            5 => {
                let v = g.chars(ALNUM, 14);
                (format!("DB_PASSWORD={v} ./migrate.sh"), v)
            }
            6 => {
                let v = g.chars(ALNUM, 20);
                (format!(r#"{{"user": "svc", "password": "{v}"}}"#), v)
            }
            7 => {
                let v = g.chars(ALNUM, 30);
                (
                    format!("curl -H 'Authorization: Bearer {v}' https://api.internal"),
                    v,
                )
            }
            8 => {
                let v = format!(
                    "eyJ{}.eyJ{}.{}",
                    g.chars(ALNUM, 20),
                    g.chars(ALNUM, 30),
                    g.chars(ALNUM, 25)
                );
                (format!("the cookie was session={v} at login"), v)
            }
            9 => {
                let body = g.chars(B64, 64);
                (
                    format!(
                        "key:\n-----BEGIN RSA PRIVATE KEY-----\n{body}\n{body}\n-----END RSA PRIVATE KEY-----\ndone"
                    ),
                    body,
                )
            }
            10 => {
                let v = format!("xoxb-{}-{}", g.chars(UPPER_NUM, 12), g.chars(ALNUM, 24));
                (format!("slack token: {v}"), v)
            }
            11 => {
                let v = g.chars(ALNUM, 16);
                (format!("redis-cli -u redis://:{v}@cache-1:6379 ping"), v)
            }
            12 => {
                let v = g.chars(ALNUM, 18);
                (
                    format!("mysql -u root --password {v} -e 'show processlist'"),
                    v,
                )
            }
            13 => {
                let v = g.chars(ALNUM, 24);
                (format!("client_secret: '{v}'"), v)
            }
            _ => {
                let v = format!("sk_live_{}", g.chars(ALNUM, 24));
                (format!("stripe key {v} was rotated"), v)
            }
        };
        (text, secret)
    }

    #[test]
    fn a_planted_secret_never_survives() {
        let mut g = Lcg(7);
        for _ in 0..2000 {
            let before = g.pick(ORDINARY);
            let after = g.pick(ORDINARY);
            let (planted, secret) = plant(&mut g);
            let text = format!("{before}\n{planted}\n{after}");
            for contacts in [false, true] {
                let out = redact(&text, contacts);
                assert!(
                    !out.text.contains(&secret),
                    "leaked {secret:?} from {planted:?}: {}",
                    out.text
                );
                assert!(out.counts.values().sum::<u32>() >= 1);
                assert!(out.text.contains("[REDACTED:"));
            }
        }
    }

    #[test]
    fn ordinary_text_is_untouched() {
        for line in ORDINARY {
            let out = redact(line, false);
            assert_eq!(&out.text, line);
            assert!(out.counts.is_empty(), "{line}: {:?}", out.counts);
        }
        let mut g = Lcg(11);
        for _ in 0..500 {
            let text = (0..4)
                .map(|_| g.pick(ORDINARY))
                .collect::<Vec<_>>()
                .join(" ");
            assert_eq!(redact(&text, false).text, text);
        }
    }

    #[test]
    fn placeholders_are_typed_and_counted_by_kind() {
        let out = redact(
            "postgres://app:hunter22@db:5432/x and password=s3cr3tvalue and AKIAABCDEFGHIJKLMNOP",
            false,
        );
        assert_eq!(
            out.text,
            "postgres://app:[REDACTED:password]@db:5432/x and password=[REDACTED:password] and [REDACTED:aws_access_key]"
        );
        assert_eq!(out.counts.get("password"), Some(&2));
        assert_eq!(out.counts.get("aws_access_key"), Some(&1));
    }

    #[test]
    fn redaction_is_idempotent() {
        let mut g = Lcg(3);
        for _ in 0..300 {
            let (planted, _) = plant(&mut g);
            let once = redact(&planted, true);
            let twice = redact(&once.text, true);
            assert_eq!(twice.text, once.text);
            assert!(
                twice.counts.is_empty(),
                "{:?} in {}",
                twice.counts,
                once.text
            );
        }
    }

    #[test]
    fn contacts_only_when_asked() {
        let text =
            "paged alice.smith@example.com; host 10.2.3.44 and fe80::1ff:fe23:4567:890a were down";
        let kept = redact(text, false);
        assert_eq!(kept.text, text);
        let out = redact(text, true);
        assert_eq!(
            out.text,
            "paged [REDACTED:email]; host [REDACTED:ip_address] and [REDACTED:ip_address] were down"
        );
        assert_eq!(out.counts.get("email"), Some(&1));
        assert_eq!(out.counts.get("ip_address"), Some(&2));
        // Times are not addresses.
        let times = "between 14:05:09 and 14:20:00";
        assert_eq!(redact(times, true).text, times);
    }
}
