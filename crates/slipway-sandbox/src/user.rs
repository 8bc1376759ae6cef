//! The unprivileged user a sandboxed command runs as.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::SandboxError;

/// The user picked when `[sandbox] user` is not set.
pub const DEFAULT_USER: &str = "nobody";

/// A user of the host, by name and ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Its name in `/etc/passwd`.
    pub name: String,
    /// Its user id; never 0.
    pub uid: u32,
    /// Its primary group id; never 0.
    pub gid: u32,
}

impl User {
    /// Looks `name` up in the host's `/etc/passwd`.
    pub fn lookup(name: &str) -> Result<User, SandboxError> {
        let passwd = std::fs::read_to_string("/etc/passwd").map_err(|err| {
            SandboxError::Unavailable(format!(
                "cannot read /etc/passwd to find the sandbox user: {err}"
            ))
        })?;
        Self::lookup_in(&passwd, name, Path::new("/etc/passwd"))
    }

    /// Looks `name` up in the text of a passwd file read from `file`.
    pub fn lookup_in(passwd: &str, name: &str, file: &Path) -> Result<User, SandboxError> {
        let entry = passwd
            .lines()
            .map(|line| line.split(':').collect::<Vec<_>>())
            .find(|fields| fields.len() >= 4 && fields[0] == name)
            .ok_or_else(|| {
                SandboxError::BadSpec(format!(
                    "the sandbox user `{name}` does not exist in {}; create it (useradd \
                     --system {name}) or set `[sandbox] user` to an unprivileged user",
                    file.display()
                ))
            })?;
        let id = |field: &str, what: &str| {
            field.parse::<u32>().map_err(|_| {
                SandboxError::BadSpec(format!(
                    "the {what} of `{name}` in {} is not a number: `{field}`",
                    file.display()
                ))
            })
        };
        let user = User {
            name: name.to_owned(),
            uid: id(entry[2], "uid")?,
            gid: id(entry[3], "gid")?,
        };
        if user.uid == 0 || user.gid == 0 {
            return Err(SandboxError::BadSpec(format!(
                "the sandbox user `{name}` has uid {} and gid {}: a command must not run as \
                 root; set `[sandbox] user` to an unprivileged user",
                user.uid, user.gid
            )));
        }
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::User;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
        toor:x:0:0::/:/bin/sh\n\
        odd:x:abc:1::/:/bin/sh\n";

    #[test]
    fn finds_a_user_by_name() {
        let user = User::lookup_in(PASSWD, "nobody", Path::new("passwd")).unwrap();
        assert_eq!((user.uid, user.gid), (65534, 65534));
    }

    #[test]
    fn refuses_root_missing_and_malformed_users() {
        for (name, wanted) in [
            ("root", "must not run as root"),
            ("toor", "must not run as root"),
            ("ghost", "does not exist"),
            ("odd", "is not a number"),
            ("", "does not exist"),
        ] {
            let err = User::lookup_in(PASSWD, name, Path::new("passwd")).unwrap_err();
            assert!(err.to_string().contains(wanted), "{name}: {err}");
        }
    }

    #[test]
    fn the_host_has_the_default_user() {
        let user = User::lookup(super::DEFAULT_USER).unwrap();
        assert_ne!(user.uid, 0);
    }
}
