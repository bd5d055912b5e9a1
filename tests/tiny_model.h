/* A tiny valid model shared by tests: x (numeric, mean 1, std 2, impute 0) and
 * c (categorical a|b, required) -> one sigmoid unit: z = 0.5 x' + c_a - c_b + 0.25. */
#ifndef TABSERVE_TEST_TINY_MODEL_H
#define TABSERVE_TEST_TINY_MODEL_H
static const char tiny_model_json[] =
    "{\"format\":\"tabserve-model\",\"format_version\":1,"
    "\"inputs\":[{\"name\":\"x\",\"kind\":\"numeric\",\"missing\":{\"rule\":\"impute\",\"value\":0},"
    "\"normalize\":{\"mean\":1,\"std\":2}},"
    "{\"name\":\"c\",\"kind\":\"categorical\",\"value_type\":\"string\",\"vocabulary\":[\"a\",\"b\"],"
    "\"missing\":{\"rule\":\"required\"}}],"
    "\"network\":{\"layers\":[{\"activation\":\"sigmoid\",\"weights\":[[0.5],[1],[-1]],\"bias\":[0.25]}]},"
    "\"output\":{\"name\":\"predict\",\"label\":\"y\"}}";
#endif
