//! Turning C's pointers and lengths into Rust slices, with every check
//! first: NULL, lengths the address space cannot hold, and overlap (a
//! `&mut` slice that aliased another would be undefined behaviour, so
//! overlapping arguments are refused rather than trusted).
//!
//! Nearly all of the crate's `unsafe` is here and in `conn.rs`; the
//! exported functions only state which of their caller's promises each
//! conversion relies on.

use core::ffi::{c_char, c_void};
use core::ptr;

use crate::status::Status;

/// The most bytes one object may span (`isize::MAX`, as Rust's slices
/// require).
pub(crate) const MAX_LEN: usize = isize::MAX as usize;

/// A memory range an argument covers, for the overlap check.
#[derive(Clone, Copy)]
pub(crate) struct Region {
    start: usize,
    len: usize,
}

impl Region {
    /// The bytes `[ptr, ptr + len)`.
    pub(crate) fn new<T>(ptr: *const T, len: usize) -> Region {
        Region {
            start: ptr as usize,
            len,
        }
    }

    /// The memory of one `T` at `ptr`.
    pub(crate) fn of<T>(ptr: *const T) -> Region {
        Region::new(ptr, core::mem::size_of::<T>())
    }

    /// Whether the two ranges share a byte.
    pub(crate) fn overlaps(self, other: Region) -> bool {
        // Empty ranges alias nothing. Saturation only matters for ranges
        // at the very top of the address space, which no valid object has.
        self.len != 0
            && other.len != 0
            && self.start < other.start.saturating_add(other.len)
            && other.start < self.start.saturating_add(self.len)
    }
}

/// Refuses arguments whose memory overlaps.
pub(crate) fn disjoint(regions: &[Region]) -> Result<(), Status> {
    for (i, a) in regions.iter().enumerate() {
        if regions.iter().skip(i + 1).any(|b| a.overlaps(*b)) {
            return Err(Status::InvalidArgument);
        }
    }
    Ok(())
}

/// Checks what `slice::from_raw_parts` requires of a pointer and length
/// beyond the caller's promise that the memory is valid: non-NULL unless
/// empty, a total size within `isize::MAX`, no wrap around the address
/// space. Returns the pointer to use (dangling for an empty range).
fn checked<T>(ptr: *const T, len: usize) -> Result<*const T, Status> {
    let size = core::mem::size_of::<T>().max(1);
    let bytes = len.checked_mul(size).ok_or(Status::InvalidArgument)?;
    if bytes > MAX_LEN || (ptr as usize).checked_add(bytes).is_none() {
        return Err(Status::InvalidArgument);
    }
    if len == 0 {
        return Ok(ptr::NonNull::dangling().as_ptr());
    }
    if ptr.is_null() {
        return Err(Status::NullPointer);
    }
    if (ptr as usize) % core::mem::align_of::<T>() != 0 {
        return Err(Status::Misaligned);
    }
    Ok(ptr)
}

/// Borrows the caller's `len` bytes at `ptr` for reading.
///
/// # Safety
/// Unless `len` is 0, `ptr` must point to `len` readable bytes that nothing
/// writes while the returned slice lives.
pub(crate) unsafe fn bytes<'a>(ptr: *const c_void, len: usize) -> Result<&'a [u8], Status> {
    let p = checked(ptr.cast::<u8>(), len)?;
    // SAFETY: `checked` made `p` non-NULL (or dangling for 0 bytes) and
    // bounded the length; the caller promises the bytes are readable and
    // not written meanwhile.
    Ok(unsafe { core::slice::from_raw_parts(p, len) })
}

/// Borrows the caller's `len` bytes at `ptr` for writing.
///
/// # Safety
/// Unless `len` is 0, `ptr` must point to `len` writable bytes that nothing
/// else reads or writes while the returned slice lives.
pub(crate) unsafe fn bytes_mut<'a>(ptr: *mut c_void, len: usize) -> Result<&'a mut [u8], Status> {
    let p = checked(ptr.cast::<u8>().cast_const(), len)?;
    // SAFETY: as in `bytes`; the caller promises exclusive access, and the
    // exported functions check that no other argument overlaps.
    Ok(unsafe { core::slice::from_raw_parts_mut(p.cast_mut(), len) })
}

/// Borrows a string argument, which must be UTF-8 (not NUL-terminated).
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn text<'a>(ptr: *const c_char, len: usize) -> Result<&'a str, Status> {
    // SAFETY: forwarded from this function's contract.
    let b = unsafe { bytes(ptr.cast(), len) }?;
    core::str::from_utf8(b).map_err(|_| Status::NotUtf8)
}

/// Borrows an array of `len` `T`s at `ptr`.
///
/// # Safety
/// Unless `len` is 0, `ptr` must point to `len` initialised `T`s that
/// nothing writes while the returned slice lives.
pub(crate) unsafe fn array<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], Status> {
    let p = checked(ptr, len)?;
    // SAFETY: `checked` proved non-NULL, aligned and bounded; the caller
    // promises the elements are valid.
    Ok(unsafe { core::slice::from_raw_parts(p, len) })
}

/// Stores `value` in a caller's out-parameter, which must not be NULL.
///
/// # Safety
/// A non-NULL `ptr` must point to writable memory for a `T`.
pub(crate) unsafe fn put<T>(ptr: *mut T, value: T) -> Result<(), Status> {
    if ptr.is_null() {
        return Err(Status::NullPointer);
    }
    if (ptr as usize) % core::mem::align_of::<T>() != 0 {
        return Err(Status::Misaligned);
    }
    // SAFETY: non-NULL and aligned, checked above; writable by the caller's
    // promise. `write` does not read or drop the old contents, which may be
    // uninitialised.
    unsafe { ptr.write(value) };
    Ok(())
}

/// Reads a caller's struct argument, or `None` for NULL.
///
/// # Safety
/// A non-NULL `ptr` must point to a readable, valid `T`. The structs read
/// this way hold integers, valid in every bit pattern, and C `bool`s, which
/// C keeps at 0 or 1 as Rust requires.
pub(crate) unsafe fn get<T: Copy>(ptr: *const T) -> Result<Option<T>, Status> {
    if ptr.is_null() {
        return Ok(None);
    }
    if (ptr as usize) % core::mem::align_of::<T>() != 0 {
        return Err(Status::Misaligned);
    }
    // SAFETY: non-NULL and aligned, checked above; readable by the caller's
    // promise; `read_unaligned` is not needed.
    Ok(Some(unsafe { ptr.read() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_is_only_allowed_when_empty() {
        // SAFETY: NULL with length 0 touches no memory.
        assert_eq!(unsafe { bytes(ptr::null(), 0) }, Ok(&[][..]));
        // SAFETY: refused before any access.
        assert_eq!(unsafe { bytes(ptr::null(), 3) }, Err(Status::NullPointer));
    }

    #[test]
    fn impossible_lengths_are_refused() {
        let b = [0u8; 4];
        // SAFETY: refused before any access.
        let huge = unsafe { bytes(b.as_ptr().cast(), usize::MAX) };
        assert_eq!(huge, Err(Status::InvalidArgument));
        // SAFETY: refused before any access.
        let wraps = unsafe { bytes(usize::MAX as *const c_void, 2) };
        assert_eq!(wraps, Err(Status::InvalidArgument));
    }

    #[test]
    fn overlap_is_detected() {
        let b = [0u8; 16];
        let p = b.as_ptr();
        let a = Region::new(p, 8);
        assert!(disjoint(&[a, Region::new(p.wrapping_add(8), 8)]).is_ok());
        assert!(disjoint(&[a, Region::new(p.wrapping_add(7), 1)]).is_err());
        assert!(disjoint(&[a, Region::new(p.wrapping_add(3), 0)]).is_ok());
    }

    #[test]
    fn strings_must_be_utf8() {
        let bad = [0xC3u8, 0x28];
        // SAFETY: `bad` is two readable bytes.
        let r = unsafe { text(bad.as_ptr().cast(), 2) };
        assert_eq!(r, Err(Status::NotUtf8));
    }
}
