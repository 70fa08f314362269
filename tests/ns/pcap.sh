#!/bin/bash
# Packet capture: --pcap records both directions in a file tshark reads:
# the DHCP exchange, the gateway's ARP and ping replies, and (once TCP NAT
# is in) a TCP handshake; --pcap-max caps the file's size.
. "$(dirname "$0")/../lib/common.sh"
need_netns
need_cmd busybox tshark
. "$TOP_SRCDIR/tests/lib/netns.sh"

ns_setup pcap || tap_bail "cannot set up namespace"
CAP=$NS_TMP/cap.pcap
LOG=$NS_TMP/usernat.log
usernat_start "$LOG" --vde "tap://$TAP" --pcap "$CAP"
wait_for_tap_attached 10 "$UN_PID" || tap_bail "usernat did not open $TAP"
ns_move_tap || tap_bail "cannot move tap"
udhcpc_ns >/dev/null 2>&1
ns_exec ping -c 2 -i 0.2 -W 2 10.0.2.2 >/dev/null 2>&1
# a TCP handshake toward a host listener (answered once TCP NAT exists)
python3 -c 'import os,socket,sys; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); open(sys.argv[1]+".tmp","w").write(str(s.getsockname()[1])); os.rename(sys.argv[1]+".tmp",sys.argv[1]); c,_=s.accept(); c.close()' "$NS_TMP/port" &
ns_bg_pid_add $!
wait_for_file "$NS_TMP/port" 5; sleep 0.3
port=$(cat "$NS_TMP/port")
ns_exec timeout 3 bash -c "exec 3<>/dev/tcp/10.0.2.2/$port" 2>/dev/null
sleep 1.5	# the capture is flushed once a second
out=$(tshark -r "$CAP" -Y dhcp -T fields -e dhcp.option.dhcp 2>&1)
tap_diag "DHCP message types: $(echo $out)"
for t in 1 2 3 5; do
	printf '%s\n' "$out" | grep -qx "$t" && tap_ok "capture has DHCP message type $t" ||
		tap_fail "capture has DHCP message type $t" "$out"
done
n=$(tshark -r "$CAP" -Y "icmp.type == 0 && ip.src == 10.0.2.2" 2>/dev/null | wc -l)
[ "$n" -ge 2 ] && tap_ok "capture has the gateway's echo replies" || tap_fail "capture has the gateway's echo replies" "$n"
n=$(tshark -r "$CAP" -Y "arp.opcode == 2 && arp.src.proto_ipv4 == 10.0.2.2" 2>/dev/null | wc -l)
[ "$n" -ge 1 ] && tap_ok "capture has our ARP reply" || tap_fail "capture has our ARP reply" "$n"
syn=$(tshark -r "$CAP" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == $port" 2>/dev/null | wc -l)
synack=$(tshark -r "$CAP" -Y "tcp.flags.syn == 1 && tcp.flags.ack == 1 && tcp.srcport == $port" 2>/dev/null | wc -l)
[ "$syn" -ge 1 ] && [ "$synack" -ge 1 ] && tap_ok "capture has a TCP handshake" ||
	tap_fail "capture has a TCP handshake" "SYN $syn, SYN-ACK $synack"

# size cap: a second instance capped at 4 KiB stops there
ns_setup pcapmax || tap_bail "cannot set up namespace"
CAP2=$NS_TMP/cap.pcap
usernat_start "$NS_TMP/usernat.log" --vde "tap://$TAP" --pcap "$CAP2" --pcap-max 4K
wait_for_tap_attached 10 "$UN_PID" || tap_bail "usernat did not open $TAP"
ns_move_tap || tap_bail "cannot move tap"
udhcpc_ns >/dev/null 2>&1
ns_exec ping -c 30 -i 0.02 -s 500 -W 1 10.0.2.2 >/dev/null 2>&1
sleep 1.5
sz=$(stat -c %s "$CAP2")
[ "$sz" -le 4096 ] && [ "$sz" -gt 1000 ] && tap_ok "--pcap-max 4K: file is $sz bytes" ||
	tap_fail "--pcap-max 4K caps the file" "size $sz"
grep -q "size cap" "$NS_TMP/usernat.log" && tap_ok "cap reached is logged" || tap_fail "cap reached is logged"
tshark -r "$CAP2" >/dev/null 2>&1 && tap_ok "capped file still reads" || tap_fail "capped file still reads"
tap_done
