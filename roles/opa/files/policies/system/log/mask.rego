# What OPA's decision log leaves out of each event (OPA applies system.log.mask before any
# decision logger writes, the console one included, and lists the erased pointers in "erased").
# The gateway's input carries the raw tool arguments: a write_file's content, a query's text.
# The decision uses only the normalised paths, which stay in the log with client, server, tool
# and result; the arguments themselves never reach the disk.
package system.log

mask contains "/input/arguments"
