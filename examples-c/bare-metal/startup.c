/*
 * The least a Cortex-M4 needs to run C: a vector table, and a reset
 * handler that copies .data, zeroes .bss, turns the FPU on (the library
 * is built for the hard-float ABI) and calls main. The symbols come from
 * mps2-an386.ld.
 */
#include <stdint.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _stack_top;
int main(void);

void reset(void);

void reset(void)
{
    uint32_t *src = &_sidata, *dst;
    for (dst = &_sdata; dst < &_edata;)
        *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
    /* CPACR: full access to coprocessors 10 and 11 (the FPU). */
    *(volatile uint32_t *)0xe000ed88 |= 0xfu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    main();
    for (;;)
        ;
}

static void halt(void)
{
    for (;;)
        ;
}

/* Initial stack pointer, then the handlers: reset, NMI, hard fault and the
 * other 13 system exceptions. Function pointers in an object array are
 * an extension of C99 (as in every Cortex-M startup file). */
__attribute__((section(".vectors"), used)) static const uintptr_t vectors[16] = {
    (uintptr_t)&_stack_top, (uintptr_t)reset, (uintptr_t)halt, (uintptr_t)halt,
    (uintptr_t)halt,        (uintptr_t)halt,  (uintptr_t)halt, 0,
    0,                      0,                0,               (uintptr_t)halt,
    (uintptr_t)halt,        0,                (uintptr_t)halt, (uintptr_t)halt,
};
