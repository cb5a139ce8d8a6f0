//! How much a command can change, read from its words — conservatively: a command is read-only only when no
//! part of it looks like a write, and a write is destructive when it deletes, drops, forces or cannot be
//! undone. Shared by the Markdown import and the validation of a model's answer (a step whose stated risk is
//! lower than its command's is raised to it).

use serde::{Deserialize, Serialize};

/// A command's risk, lowest first (`Ord` follows it).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Only reads (logs, status, metrics).
    #[default]
    ReadOnly,
    /// Changes state that can be changed back (restart, scale, roll back, update a row).
    ChangesState,
    /// Loses data or cannot be undone (delete, drop, truncate, force).
    Destructive,
}

/// Words (whole, lower-cased) that make a simple command destructive wherever they appear.
const DESTRUCTIVE_WORDS: &[&str] = &[
    "rm",
    "rmdir",
    "drop",
    "truncate",
    "delete",
    "mkfs",
    "shred",
    "wipe",
    "wipefs",
    "destroy",
    "purge",
    "flushall",
    "flushdb",
    "uninstall",
    "terminate",
    "dd",
    "fdisk",
    "pg_resetwal",
    "--force",
    "--hard",
    "--grace-period=0",
    "-9",
    "-delete",
    "del",
    "unlink",
];

/// Word prefixes that make a command destructive (AWS' `delete-…`, `terminate-…`, `deregister-…`).
const DESTRUCTIVE_PREFIXES: &[&str] =
    &["delete-", "terminate-", "deregister-", "purge-", "remove-"];

/// Words that change state.
const CHANGING_WORDS: &[&str] = &[
    "restart",
    "reload",
    "start",
    "stop",
    "kill",
    "pkill",
    "killall",
    "reboot",
    "shutdown",
    "scale",
    "apply",
    "patch",
    "edit",
    "set",
    "cordon",
    "uncordon",
    "drain",
    "taint",
    "label",
    "annotate",
    "rollout",
    "rollback",
    "undo",
    "replace",
    "create",
    "install",
    "upgrade",
    "update",
    "insert",
    "alter",
    "grant",
    "revoke",
    "vacuum",
    "reindex",
    "analyze",
    "cluster",
    "refresh",
    "renew",
    "mv",
    "cp",
    "chmod",
    "chown",
    "ln",
    "mkdir",
    "touch",
    "tee",
    "sed",
    "resize2fs",
    "growpart",
    "lvextend",
    "xfs_growfs",
    "logrotate",
    "push",
    "commit",
    "merge",
    "failover",
    "promote",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_ctl",
    "pg_rewind",
    "certbot",
    "iptables",
    "ufw",
    "mount",
    "umount",
    "swapoff",
    "swapon",
    "sysctl",
    "exec",
    "invoke",
    "put",
    "post",
    "enable",
    "disable",
    "expire",
    "migrate",
    "deploy",
    "resume",
    "pause",
    "suspend",
    "reset",
    "revert",
    "redeploy",
    "run",
    "copy",
    "upload",
    "sync",
];

/// Word prefixes that change state (AWS' `update-…`, `put-…`, `create-…`, …).
const CHANGING_PREFIXES: &[&str] = &[
    "update-",
    "put-",
    "create-",
    "modify-",
    "start-",
    "stop-",
    "reboot-",
    "set-",
    "attach-",
    "detach-",
    "associate-",
    "disassociate-",
    "register-",
    "restore-",
    "promote-",
    "failover-",
    "invoke",
    "enable-",
    "disable-",
    "reset-",
];

/// Commands that only read whatever follows them (`kubectl get`, `aws … describe-…`): their words never
/// make a line risky by themselves. Only the first word of a simple command is looked up here.
const READ_ONLY_PROGRAMS: &[&str] = &[
    "cat",
    "less",
    "more",
    "head",
    "tail",
    "grep",
    "egrep",
    "zgrep",
    "ls",
    "df",
    "du",
    "ps",
    "top",
    "htop",
    "free",
    "uptime",
    "dig",
    "nslookup",
    "host",
    "ping",
    "traceroute",
    "mtr",
    "ss",
    "netstat",
    "journalctl",
    "dmesg",
    "echo",
    "printf",
    "wc",
    "sort",
    "uniq",
    "awk",
    "jq",
    "yq",
    "openssl",
    "date",
    "whoami",
    "id",
    "env",
    "printenv",
    "stat",
    "file",
    "find",
    "lsof",
    "iostat",
    "vmstat",
    "nproc",
    "hostname",
    "which",
    "explain",
    "select",
    "show",
    "describe",
    "curl",
    "wget",
];

/// kubectl's verbs, and those of them that only read.
const KUBECTL_VERBS: &[&str] = &[
    "get",
    "describe",
    "logs",
    "top",
    "explain",
    "api-resources",
    "api-versions",
    "version",
    "cluster-info",
    "diff",
    "wait",
    "events",
    "auth",
    "rollout",
    "config",
    "apply",
    "create",
    "delete",
    "edit",
    "patch",
    "replace",
    "scale",
    "autoscale",
    "set",
    "label",
    "annotate",
    "cordon",
    "uncordon",
    "drain",
    "taint",
    "exec",
    "run",
    "cp",
    "port-forward",
    "expose",
    "debug",
    "attach",
];
const KUBECTL_READS: &[&str] = &[
    "get",
    "describe",
    "logs",
    "top",
    "explain",
    "api-resources",
    "api-versions",
    "version",
    "cluster-info",
    "diff",
    "wait",
    "events",
    "auth",
];

/// The risk of a command (several lines, pipes and `&&` chains: the highest of its parts).
#[must_use]
pub fn classify(command: &str) -> Risk {
    simple_commands(command)
        .map(|words| classify_simple(&words))
        .max()
        .unwrap_or_default()
}

/// The simple commands of a command text, each as its lower-cased words (split on newlines, `;`, `&&`, `||`
/// and `|`; comments dropped).
fn simple_commands(command: &str) -> impl Iterator<Item = Vec<String>> + '_ {
    command
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .flat_map(|l| l.split([';', '|', '&']))
        .map(|part| {
            part.split_whitespace()
                .map(|w| {
                    w.trim_matches(|c: char| {
                        c == '"' || c == '\'' || c == '(' || c == ')' || c == ','
                    })
                    .to_lowercase()
                })
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
        })
        .filter(|words| !words.is_empty())
}

fn classify_simple(words: &[String]) -> Risk {
    let words: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .skip_while(|w| matches!(*w, "sudo" | "time" | "nohup" | "env") || w.contains('='))
        .collect();
    let Some(first) = words.first() else {
        return Risk::ReadOnly;
    };
    // A redirection into a file writes it, whatever the program.
    let redirects = words
        .iter()
        .any(|w| w.starts_with('>') && !w.starts_with(">&"));
    // `curl -X DELETE`, `curl --request POST`: the method decides.
    if matches!(*first, "curl" | "wget" | "http") {
        let method = words
            .windows(2)
            .find(|w| w[0] == "-x" || w[0] == "--request")
            .map(|w| w[1]);
        return match method {
            Some("delete") => Risk::Destructive,
            Some("get" | "head") | None if !redirects => Risk::ReadOnly,
            _ => Risk::ChangesState,
        };
    }
    // Programs that only read (`grep delete`, `echo restart`) say nothing by their arguments; `find` (which can
    // `-delete`), `select` (which can call a function that writes) and `explain` (`EXPLAIN ANALYZE DELETE` runs
    // the delete) are looked at like any command.
    if READ_ONLY_PROGRAMS.contains(first) && !matches!(*first, "find" | "select" | "explain") {
        return if redirects {
            Risk::ChangesState
        } else {
            Risk::ReadOnly
        };
    }
    if words.iter().any(|w| {
        DESTRUCTIVE_WORDS.contains(w) || DESTRUCTIVE_PREFIXES.iter().any(|p| w.starts_with(p))
    }) || (words.contains(&"-f") && matches!(*first, "rm" | "git" | "kubectl"))
    {
        // `kubectl delete`, `aws s3 rm`, `DROP TABLE`, `DELETE FROM`, `git push --force`.
        return Risk::Destructive;
    }
    if redirects {
        return Risk::ChangesState;
    }
    // kubectl reads by its verb (`kubectl -n web get pods`, `kubectl rollout history …`).
    if *first == "kubectl"
        && let Some(i) = words.iter().position(|w| KUBECTL_VERBS.contains(w))
    {
        let next = words.get(i + 1).copied().unwrap_or_default();
        let reads = KUBECTL_READS.contains(&words[i])
            || (words[i] == "rollout" && matches!(next, "history" | "status"))
            || (words[i] == "config"
                && matches!(next, "view" | "get-contexts" | "current-context"));
        if reads {
            return Risk::ReadOnly;
        }
    }
    // SQL reads: `SELECT …` is read-only unless it calls a function that changes state (listed above).
    let verb_words: &[&str] = if READ_ONLY_PROGRAMS.contains(first) {
        &words[1..]
    } else {
        &words
    };
    let changes = verb_words.iter().any(|w| {
        let w = w.trim_end_matches(['(', ';']);
        let w = w.split('(').next().unwrap_or(w);
        (CHANGING_WORDS.contains(&w) && !READ_ONLY_PROGRAMS.contains(first))
            || matches!(w, "pg_terminate_backend" | "pg_cancel_backend")
            || (CHANGING_PREFIXES.iter().any(|p| w.starts_with(p))
                && !READ_ONLY_PROGRAMS.contains(first))
    }) || (*first == "sed" && words.iter().any(|w| w.starts_with("-i")));
    if changes {
        Risk::ChangesState
    } else {
        Risk::ReadOnly
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_read_only() {
        for c in [
            "kubectl get pods -n payments",
            "kubectl -n payments rollout history deployment/checkout-api",
            "kubectl logs deploy/x | grep -i delete",
            "redis-cli -h redis-cache INFO memory | grep maxmemory",
            "kubectl logs deploy/checkout-api --since=10m | grep ERROR",
            "aws rds describe-db-instances --db-instance-identifier prod",
            "SELECT client_addr, replay_lag FROM pg_stat_replication;",
            "df -h /var/lib/postgresql",
            "curl -s https://status.example.com/health",
            "openssl s_client -connect auth.acme.io:443 </dev/null | openssl x509 -noout -dates",
            "",
        ] {
            assert_eq!(classify(c), Risk::ReadOnly, "{c}");
        }
    }

    #[test]
    fn writes_change_state() {
        for c in [
            "kubectl rollout restart deploy/checkout-api",
            "kubectl scale deploy/consumer --replicas=6",
            "kubectl rollout undo deploy/checkout-api",
            "sudo systemctl restart pgbouncer",
            "aws autoscaling set-desired-capacity --auto-scaling-group-name workers --desired-capacity 8",
            "UPDATE jobs SET state = 'queued' WHERE id = 42;",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle in transaction';",
            "certbot renew --cert-name auth.acme.io",
            "echo 1 > /proc/sys/vm/drop_caches_not_really",
            "curl -X POST https://api.example.com/flags/checkout/disable",
            "kubectl get pods\nkubectl cordon node-7",
            "kubectl rollout undo deployment/checkout-api -n payments",
            "redis-cli -h redis-cache CONFIG SET maxmemory-policy allkeys-lru",
            "kubectl exec deploy/x -- sh -c 'cat /etc/hosts'",
        ] {
            assert_eq!(classify(c), Risk::ChangesState, "{c}");
        }
    }

    #[test]
    fn deletions_and_forces_are_destructive() {
        for c in [
            "kubectl delete pod checkout-api-7d9f",
            "rm -rf /var/log/app/*.gz",
            "DROP TABLE sessions_old;",
            "DELETE FROM events WHERE created_at < now() - interval '90 days';",
            "TRUNCATE audit_tmp;",
            "redis-cli FLUSHALL",
            "git push --force origin main",
            "aws ec2 terminate-instances --instance-ids i-0abc",
            "aws s3 rm s3://bucket/key",
            "kubectl get pods && kubectl delete pod x --grace-period=0",
            "curl -X DELETE https://api.example.com/cache",
            "find /var/log/app -name '*.gz' -mtime +7 -delete",
            "EXPLAIN ANALYZE DELETE FROM events",
        ] {
            assert_eq!(classify(c), Risk::Destructive, "{c}");
        }
    }

    #[test]
    fn the_highest_part_wins_and_order_is_by_severity() {
        assert!(Risk::ReadOnly < Risk::ChangesState && Risk::ChangesState < Risk::Destructive);
        assert_eq!(
            classify("kubectl get pods; kubectl rollout restart deploy/x"),
            Risk::ChangesState
        );
        // A comment mentioning a dangerous word is not a command.
        assert_eq!(
            classify("kubectl get pods # do not delete anything"),
            Risk::ReadOnly
        );
    }
}
