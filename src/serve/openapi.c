/* openapi — the spec's bytes, placed by the assembler's .incbin like the default model. */
#include "serve/openapi.h"

__asm__(".section .rodata\n"
        ".global openapi_yaml\n"
        "openapi_yaml:\n"
        ".incbin \"api/openapi.yaml\"\n"
        ".global openapi_yaml_end\n"
        "openapi_yaml_end:\n"
        ".byte 0\n"
        ".previous\n");
extern const char openapi_yaml_end[];

size_t openapi_yaml_len(void) { return (size_t)(openapi_yaml_end - openapi_yaml); }
