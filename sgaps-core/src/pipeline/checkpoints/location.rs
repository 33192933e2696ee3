//! Where the checkpoint directory is. The first that applies, in this order:
//! 1. the `checkpoint_dir` setting, when set (relative paths are taken from the working
//!    directory: the user wrote them);
//! 2. the environment variable `SGAPS_CHECKPOINT_DIR`, when set;
//! 3. a `checkpoints/` folder beside the library, when that folder exists.
//!
//! Never the working directory by default: a game or script started from another folder
//! would silently get a different model (or none).

use std::ffi::OsString;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub const ENV_VAR: &str = "SGAPS_CHECKPOINT_DIR";
/// The folder looked for beside the library.
pub const BESIDE_LIBRARY: &str = "checkpoints";

/// Which rule chose the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Setting,
    Environment,
    BesideLibrary,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Setting => "the checkpoint_dir setting",
            Origin::Environment => ENV_VAR,
            Origin::BesideLibrary => "beside the library",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointDir {
    pub path: PathBuf,
    pub origin: Origin,
}

/// The checkpoint directory for the `checkpoint_dir` setting `configured` (empty: not
/// set), or `None` when no rule applies.
pub fn resolve(configured: &Path) -> Option<CheckpointDir> {
    choose(configured, std::env::var_os(ENV_VAR), library_dir().as_deref())
}

/// The rules over given inputs, so they can be tested without touching the process.
fn choose(configured: &Path, env: Option<OsString>, library_dir: Option<&Path>) -> Option<CheckpointDir> {
    if !configured.as_os_str().is_empty() {
        return Some(CheckpointDir { path: configured.to_path_buf(), origin: Origin::Setting });
    }
    if let Some(env) = env.filter(|v| !v.is_empty()) {
        return Some(CheckpointDir { path: PathBuf::from(env), origin: Origin::Environment });
    }
    let beside = library_dir?.join(BESIDE_LIBRARY);
    beside.is_dir().then_some(CheckpointDir { path: beside, origin: Origin::BesideLibrary })
}

/// The folder of the file holding this code: `libsgaps.so` in a game, a plugin folder or
/// a Python wheel; the executable when the crate is linked into one. `dladdr` rather
/// than `/proc/self/exe`, which names the host program (python, the game) instead.
pub fn library_dir() -> Option<PathBuf> {
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only reads the address and fills `info`.
    let found = unsafe { libc::dladdr(library_dir as *const libc::c_void, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dladdr set a NUL-terminated name that lives as long as the mapping.
    let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    let name = PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes()));
    // For the main program glibc reports argv[0], which may be relative or a bare name
    // found on PATH; the kernel knows its real path.
    let is_executable = std::env::args_os().next().is_some_and(|argv0| Path::new(&argv0) == name);
    let file = if is_executable || !name.is_absolute() { std::env::current_exe().ok()? } else { name };
    file.parent().map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_comes_first_then_the_environment_then_beside_the_library() {
        let library = tempfile::tempdir().unwrap();
        std::fs::create_dir(library.path().join(BESIDE_LIBRARY)).unwrap();
        let env = || Some(OsString::from("/from/env"));
        let lib = Some(library.path());

        let setting = choose(Path::new("mine"), env(), lib).unwrap();
        assert_eq!(setting, CheckpointDir { path: "mine".into(), origin: Origin::Setting });
        let environment = choose(Path::new(""), env(), lib).unwrap();
        assert_eq!(environment, CheckpointDir { path: "/from/env".into(), origin: Origin::Environment });
        let beside = choose(Path::new(""), None, lib).unwrap();
        assert_eq!(beside, CheckpointDir { path: library.path().join(BESIDE_LIBRARY), origin: Origin::BesideLibrary });
        // An empty variable counts as unset.
        assert_eq!(choose(Path::new(""), Some(OsString::new()), lib).unwrap().origin, Origin::BesideLibrary);
    }

    #[test]
    fn nothing_applies_without_a_setting_a_variable_or_a_folder_beside_the_library() {
        let library = tempfile::tempdir().unwrap();
        assert_eq!(choose(Path::new(""), None, Some(library.path())), None);
        assert_eq!(choose(Path::new(""), None, None), None);
    }

    #[test]
    fn the_library_of_a_statically_linked_test_is_its_executable() {
        let exe = std::env::current_exe().unwrap();
        assert_eq!(library_dir().unwrap(), exe.parent().unwrap());
    }
}
