//! Why this file exists: moto is one Python process, so one moto serves every account on one
//! core however many cores the machine has. Accounts are independent, so the proxy can spread
//! them over several emulator processes of the same kind (shards of the main upstream): each
//! account goes to one shard, chosen by [`shard_of`], a pure function of the account id. Being a
//! function of the id alone, the choice is stable for the account's life, needs no state in the
//! proxy, and is the same in every proxy in front of the same shards and in the harness, which
//! warms accounts straight on the emulator (the warm-up of an account must build that account on
//! the shard its requests will reach).
//!
//! A request without an account (unclassifiable, or a plain `GET /moto-api/...`) goes to the
//! first shard. Routes (`routes.rs`) are not sharded: a service routed to another emulator goes
//! there for every account.

/// Most shards one proxy takes: the harness starts at most this many moto processes
/// (`HARNESS_MOTO_SHARDS`), and the journal numbers shards with a small integer.
pub const MAX_SHARDS: usize = 16;

/// One emulator process of a sharded main upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shard {
    /// The process's URL, `http://host:port`.
    pub url: url::Url,
    /// Who it is, for error messages, e.g. `pid 4242, log target/harness/logs/moto-7.log`;
    /// empty when unknown (`faultproxy --shard URL`).
    pub about: String,
}

impl Shard {
    /// A shard known by its URL alone.
    pub fn at(url: url::Url) -> Shard {
        Shard {
            url,
            about: String::new(),
        }
    }
}

/// Which of `shards` shards serves `account`: FNV-1a over the id's bytes, modulo `shards` (0
/// when `shards` is 0 or 1). Every caller that must agree with the proxy calls this function.
pub fn shard_of(account: &str, shards: usize) -> usize {
    if shards <= 1 {
        return 0;
    }
    let hash = account.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % shards as u64) as usize
}

/// Where a sharded upstream stands among its shards (1-based, for people and the journal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ShardPlace {
    pub number: u16,
    pub count: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shard_or_none_takes_everything() {
        assert_eq!(shard_of("123456789012", 1), 0);
        assert_eq!(shard_of("123456789012", 0), 0);
    }

    #[test]
    fn the_choice_is_a_function_of_the_account_and_spreads_accounts() {
        for n in 2..=MAX_SHARDS {
            let mut per_shard = vec![0usize; n];
            for i in 0..(n * 400) {
                let account = format!("{:012}", 100_000_000_000_u64 + 7919 * i as u64);
                let s = shard_of(&account, n);
                assert_eq!(s, shard_of(&account, n), "stable");
                per_shard[s] += 1;
            }
            // 400 accounts per shard on average: every shard gets a fair part.
            assert!(per_shard.iter().all(|&c| c > 200), "{n}: {per_shard:?}");
        }
        // Fixed values: the harness and every proxy compute the same choice.
        assert_eq!(shard_of("123456789012", 2), shard_of("123456789012", 2));
        assert_eq!(shard_of("", 3), (0xcbf2_9ce4_8422_2325_u64 % 3) as usize);
    }
}
