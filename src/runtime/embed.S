/* embed.S — the exec stub and the monitor, built as separate static programs
 * (see the Makefile), carried inside the berth binary so that berth stays one
 * file. */
	.section .rodata
	.balign 16
	.globl rt_stub_start
	.globl rt_stub_end
rt_stub_start:
	.incbin "stub"
rt_stub_end:
	.balign 16
	.globl rt_monitor_start
	.globl rt_monitor_end
rt_monitor_start:
	.incbin "monitor"
rt_monitor_end:
	.section .note.GNU-stack,"",@progbits
