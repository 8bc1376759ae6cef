//! Brings the loopback interface of a new network namespace up.
//!
//! A new network namespace has one interface, `lo` (index 1), and it is
//! down. Raising it is one rtnetlink `RTM_NEWLINK` message, written here by
//! hand: the netlink crates are much larger than these 32 bytes.

use std::io;

use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketType, netlink};

const RTM_NEWLINK: u16 = 16;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLMSG_ERROR: u16 = 2;
const IFF_UP: u32 = 1;
/// The loopback interface's index in every network namespace.
const LOOPBACK_INDEX: i32 = 1;

/// Sets `IFF_UP` on `lo` in the caller's network namespace and waits for the
/// kernel's acknowledgement.
pub(crate) fn loopback_up() -> io::Result<()> {
    let socket = rustix::net::socket(AddressFamily::NETLINK, SocketType::RAW, None)?;
    let mut message = Vec::with_capacity(32);
    // struct nlmsghdr
    message.extend_from_slice(&32u32.to_ne_bytes());
    message.extend_from_slice(&RTM_NEWLINK.to_ne_bytes());
    message.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    message.extend_from_slice(&1u32.to_ne_bytes()); // sequence number
    message.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel assigns
    // struct ifinfomsg
    message.extend_from_slice(&[0, 0]); // family AF_UNSPEC, padding
    message.extend_from_slice(&0u16.to_ne_bytes()); // device type
    message.extend_from_slice(&LOOPBACK_INDEX.to_ne_bytes());
    message.extend_from_slice(&IFF_UP.to_ne_bytes()); // flags
    message.extend_from_slice(&IFF_UP.to_ne_bytes()); // change mask
    let kernel = netlink::SocketAddrNetlink::new(0, 0);
    rustix::net::sendto(&socket, &message, SendFlags::empty(), &kernel)?;
    let mut reply = [0u8; 256];
    let (_, len) = rustix::net::recv(&socket, &mut reply[..], RecvFlags::empty())?;
    if len < 20 {
        return Err(io::Error::other("rtnetlink sent a short reply"));
    }
    let kind = u16::from_ne_bytes([reply[4], reply[5]]);
    let code = i32::from_ne_bytes([reply[16], reply[17], reply[18], reply[19]]);
    if kind != NLMSG_ERROR {
        return Err(io::Error::other(format!(
            "rtnetlink replied with message type {kind}"
        )));
    }
    if code != 0 {
        return Err(io::Error::from_raw_os_error(-code));
    }
    Ok(())
}
