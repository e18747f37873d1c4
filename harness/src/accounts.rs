//! Why this file exists: tests share one emulator, so each test works in its own AWS account
//! and stacks never see each other. An account is a random 12-digit id; requests signed with
//! it as access key id act in that account (LocalStack natively; moto through the
//! `x-moto-account-id` header that the proxy adds).

use std::collections::HashSet;
use std::sync::Mutex;

use rand::Rng;

/// moto's default account: never handed out, so nothing lands there by accident.
pub const MOTO_DEFAULT_ACCOUNT: &str = "123456789012";

/// LocalStack's default account: never handed out either.
pub const LOCALSTACK_DEFAULT_ACCOUNT: &str = "000000000000";

/// A fresh random 12-digit account id, unique within this process, never an emulator default.
/// The first digit is never 0, so the id survives a round trip through an integer.
pub fn fresh_account_id() -> String {
    static ISSUED: Mutex<Option<HashSet<u64>>> = Mutex::new(None);
    let mut issued = ISSUED.lock().unwrap_or_else(|e| e.into_inner());
    let issued = issued.get_or_insert_with(HashSet::new);
    let mut rng = rand::thread_rng();
    loop {
        let id: u64 = rng.gen_range(100_000_000_000..=999_999_999_999);
        let text = id.to_string();
        if text != MOTO_DEFAULT_ACCOUNT && issued.insert(id) {
            return text;
        }
    }
}

/// A fresh account id (as [`fresh_account_id`]) that the proxy serves on shard `shard` of
/// `shards` (`faultproxy::shard_of`): the pool hands accounts out over the shards in turn, so a
/// few accounts at once already use every moto process. Each draw lands on a given shard with
/// probability about 1/`shards`, so a few draws suffice.
pub fn fresh_account_id_on_shard(shard: usize, shards: usize) -> String {
    loop {
        let id = fresh_account_id();
        if faultproxy::shard_of(&id, shards) == shard % shards.max(1) {
            return id;
        }
    }
}

/// True for exactly 12 ASCII digits.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_are_12_digits_unique_and_not_defaults() {
        let ids: Vec<String> = (0..2000).map(|_| fresh_account_id()).collect();
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len());
        for id in &ids {
            assert!(is_account_id(id), "{id}");
            assert_ne!(id, MOTO_DEFAULT_ACCOUNT);
            assert_ne!(id, LOCALSTACK_DEFAULT_ACCOUNT);
            assert_ne!(&id[..1], "0");
        }
        for shard in 0..3 {
            let id = fresh_account_id_on_shard(shard, 3);
            assert!(is_account_id(&id));
            assert_eq!(faultproxy::shard_of(&id, 3), shard);
        }
        assert!(is_account_id(&fresh_account_id_on_shard(0, 1)));
        assert!(!is_account_id("12345678901"));
        assert!(!is_account_id("12345678901a"));
    }
}
