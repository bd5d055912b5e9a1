/* page — the page's bytes, placed by the assembler's .incbin, as the spec's. */
#include "serve/page.h"

__asm__(".section .rodata\n"
        ".global page_html\n"
        "page_html:\n"
        ".incbin \"api/page.html\"\n"
        ".global page_html_end\n"
        "page_html_end:\n"
        ".byte 0\n"
        ".previous\n");
extern const char page_html_end[];

size_t page_html_len(void) { return (size_t)(page_html_end - page_html); }
