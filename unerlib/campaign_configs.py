"""The campaign's configurations: every setting tried, as overrides of a round's base student
parameters, with the replicates, the decodings the report cannot afford, and the pairs compared
directly. Data only; :mod:`unerlib.campaign` trains, scores and chooses among them."""

from __future__ import annotations

from typing import Any

#: round 13's kept configuration (the `diverse` mix with a third of the conversations lower-cased),
#: the recipe that round 13's replicate and round 14's configurations change
_KEPT_13 = "2500 passages diverse corpus x3 lr 3e-3 lowercase 0.3"
_KEPT_13_RECIPE: dict[str, Any] = {"n_passages": 2500, "sources": "diverse", "negatives": "corpus", "n_negatives": 3,
                                   "quantize": "int8_bf16_head", "one_type_per_entity": True, "learning_rate": 3e-3,
                                   "lowercase": 0.3}

#: round 14's kept configuration: round 13's recipe decoded with every linear layer in bfloat16
_KEPT_14 = f"{_KEPT_13} bf16"
_KEPT_14_RECIPE: dict[str, Any] = {**_KEPT_13_RECIPE, "quantize": "bf16"}
#: round 15's few-nerd x4 recipe (its configuration names add the seed, then the decoding)
_FEW_NERD_15 = "2500 passages few-nerd x4 corpus x3 lr 3e-3 lowercase 0.3"
#: round 15's kept configuration: round 14's decoded with a small logit penalty for "[]"
_KEPT_15 = f"{_KEPT_14} empty bias -0.25"
_KEPT_15_RECIPE: dict[str, Any] = {**_KEPT_14_RECIPE, "empty_bias": -0.25}
#: round 16's recipe: round 15's with a share of the conversations asking their types in title case
#: (its configuration names add the seed, then the decoding)
_TITLED_16 = f"{_KEPT_13} titlecase 0.3"

#: configurations tried, as overrides of the base student parameters; the first is the baseline
CONFIGS: dict[str, dict[str, Any]] = {
    "frequency x1": {"negatives": "frequency", "n_negatives": 1},
    "frequency x4": {"negatives": "frequency", "n_negatives": 4},
    "corpus x4": {"negatives": "corpus", "n_negatives": 4},
    "corpus x8": {"negatives": "corpus", "n_negatives": 8},
    "diverse types": {"sources": "diverse"},
    "diverse types + corpus x8": {"sources": "diverse", "negatives": "corpus", "n_negatives": 8},
    # decoding only (the baseline's student, re-asked): a logit bonus for "[]" at the first token
    "empty bias 2": {"empty_bias": 2.0},
    "empty bias 4": {"empty_bias": 4.0},
    "empty bias 8": {"empty_bias": 8.0},
    # decoding only: answers restricted to JSON lists of passage strings (unerlib.constrained)
    "span-constrained": {"constrain_spans": True},
    # decoding only: an entity named under several types of a passage kept under its best-scored one
    "one type per entity": {"one_type_per_entity": True},
    # training recipe: every weight tuned (no LoRA) at a full-tuning learning rate; three epochs of
    # the same passages against three times the passages for one epoch (about the same compute)
    "full tuning": {"lora": False, "learning_rate": 1e-4},
    "3 epochs": {"epochs": 3.0},
    "1200 passages": {"n_passages": 1200},
    # the baseline's budget spent on epochs rather than passages: a third of the passages, three epochs
    "134 passages x 3 epochs": {"n_passages": 134, "epochs": 3.0},
    # negatives that are true: the passage's own corpus label set, none for partially labelled
    # sources (one Pile-NER type per passage), then without those sources at all
    "complete x8": {"negatives": "complete", "n_negatives": 8},
    "complete x8 + complete sources": {"negatives": "complete", "n_negatives": 8, "sources": "complete"},
    # the same tokens in more, smaller optimizer steps (2 sequences a step instead of 8)
    "batch 2": {"batch_size": 2},
    # the baseline's recipe with other seeds (other passages drawn, another order): how far the
    # baseline itself moves between runs; replicates, never kept
    "seed 1": {"seed": 1},
    "seed 2": {"seed": 2},
    # the data the 15-minute training budget pays for at the baseline's recipe (1200
    # passages took about 8 minutes): the top of the learning curve within the budget
    "2000 passages": {"n_passages": 2000},
    # its recipe with another seed (other passages drawn, another order): a replicate, never kept
    "2000 passages seed 1": {"n_passages": 2000, "seed": 1},
    # decoding in float32 instead of the int8 dynamic quantization: int8 quantizes each batch's
    # activations with one scale, so a question's answer depends on the rest of its batch
    "float32": {"quantize": ""},
    "2000 passages float32": {"n_passages": 2000, "quantize": ""},
    # int8 with one activation scale per token and one weight scale per output channel
    # (unerlib.quantize): faster than float32, its answers independent of the batch
    "int8 rows": {"quantize": "int8_row"},
    "2000 passages int8 rows": {"n_passages": 2000, "quantize": "int8_row"},
    # int8 rows after moving the activations' outlier channels into the weights (unerlib.smoothing)
    "int8 smooth": {"quantize": "int8_smooth"},
    "2000 passages int8 smooth": {"n_passages": 2000, "quantize": "int8_smooth"},
    # round 8, on round 7's kept student (2000 passages, int8 rows). Decoding only: the output
    # head (which ranks "[]" against every entity's first token) left in float32
    "2000 passages int8 body": {"n_passages": 2000, "quantize": "int8_body"},
    # decoding only: a smaller logit bonus for "[]" than round 3's (it answers "[]" to 72% of the
    # validation questions, gold to 91%)
    "2000 passages int8 rows empty bias 0.5": {"n_passages": 2000, "quantize": "int8_row", "empty_bias": 0.5},
    "2000 passages int8 rows empty bias 1": {"n_passages": 2000, "quantize": "int8_row", "empty_bias": 1.0},
    # decoding only: an entity named under several types of a passage kept under its best-scored one
    "2000 passages int8 rows one type per entity": {"n_passages": 2000, "quantize": "int8_row",
                                                    "one_type_per_entity": True},
    # the float32 head and one type per entity together, then with the bonus too
    "2000 passages int8 body one type per entity": {"n_passages": 2000, "quantize": "int8_body",
                                                    "one_type_per_entity": True},
    "2000 passages int8 body one type per entity empty bias 0.5": {
        "n_passages": 2000, "quantize": "int8_body", "one_type_per_entity": True, "empty_bias": 0.5},
    # training recipe: LoRA on the top 15 of the 30 decoder layers, so the backward pass stops
    # halfway and the same 15 minutes train on more passages (benchmarks/bench_training.py times
    # both recipes); decoded as the round's best decoding
    "3200 passages top 15 layers": {"n_passages": 3200, "lora_layers": 15, "quantize": "int8_body",
                                    "one_type_per_entity": True},
    # negatives on the 2000-passage recipe: every question at test time is the first after the
    # passage, and gold answers most of them "[]", while with one negative type a passage beside
    # its positive ones most first training questions have an answer. Three negatives a passage
    # cost tokens, so 1700 passages keep the training within the budget (the train s column);
    # drawn by frequency, or from the passage's own corpus label set (as the evaluation asks)
    "1700 passages frequency x3": {"n_passages": 1700, "n_negatives": 3, "quantize": "int8_body",
                                   "one_type_per_entity": True},
    "1700 passages corpus x3": {"n_passages": 1700, "negatives": "corpus", "n_negatives": 3,
                                "quantize": "int8_body", "one_type_per_entity": True},
    # decoding only: the corpus-negative student without one type per entity (it says "[]" more
    # by itself), and with the output head in int8 too
    "1700 passages corpus x3 all types": {"n_passages": 1700, "negatives": "corpus", "n_negatives": 3,
                                          "quantize": "int8_body"},
    "1700 passages corpus x3 int8 rows": {"n_passages": 1700, "negatives": "corpus", "n_negatives": 3,
                                          "quantize": "int8_row", "one_type_per_entity": True},
    # round 9: the kept student with its output head in bfloat16 (decoding only: cheaper than
    # int8_body's float32 head, which UNAFFORDABLE below leaves out), and two negatives a
    # passage instead of three, the tokens saved spent on more passages
    "1700 passages corpus x3 bf16 head": {"n_passages": 1700, "negatives": "corpus", "n_negatives": 3,
                                          "quantize": "int8_bf16_head", "one_type_per_entity": True},
    "1900 passages corpus x2": {"n_passages": 1900, "negatives": "corpus", "n_negatives": 2,
                                "quantize": "int8_bf16_head", "one_type_per_entity": True},
    # a replicate of the kept recipe with another seed (other passages drawn, another order)
    "1700 passages corpus x3 seed 1": {"n_passages": 1700, "negatives": "corpus", "n_negatives": 3,
                                       "quantize": "int8_bf16_head", "one_type_per_entity": True, "seed": 1},
    # round 10: the negatives sweep past three a passage (two against three was contradicted in
    # round 9), the passages cut so that the training tokens stay about those of 1700 passages x3
    "1600 passages corpus x4": {"n_passages": 1600, "negatives": "corpus", "n_negatives": 4,
                                "quantize": "int8_bf16_head", "one_type_per_entity": True},
    "1550 passages corpus x5": {"n_passages": 1550, "negatives": "corpus", "n_negatives": 5,
                                "quantize": "int8_bf16_head", "one_type_per_entity": True},
    # the kept recipe on more passages: this round's machine trains the kept recipe
    # faster than the ninth round's did (the train s column), so the 15-minute budget pays for more
    "2500 passages corpus x3": {"n_passages": 2500, "negatives": "corpus", "n_negatives": 3,
                                "quantize": "int8_bf16_head", "one_type_per_entity": True},
    # round 11, on the kept recipe. Decoding only: a logit penalty for "[]" (the kept student
    # answers "[]" to slightly more validation questions than gold has empty answers)
    "2500 passages corpus x3 empty bias -0.5": {"n_passages": 2500, "negatives": "corpus", "n_negatives": 3,
                                                "quantize": "int8_bf16_head", "one_type_per_entity": True,
                                                "empty_bias": -0.5},
    # a third of the conversations in lower case (passage and answers): MultiCoNER II's views
    # in the suite and two of the seven test sets are lower-cased, the teacher passages cased
    "2500 passages corpus x3 lowercase 0.3": {"n_passages": 2500, "negatives": "corpus", "n_negatives": 3,
                                              "quantize": "int8_bf16_head", "one_type_per_entity": True,
                                              "lowercase": 0.3},
    # the same tokens in twice the optimizer steps (4 sequences a step instead of 8): "batch 2"
    # was supported on round 1's baseline, at a cost in seconds a token
    "2500 passages corpus x3 batch 4": {"n_passages": 2500, "negatives": "corpus", "n_negatives": 3,
                                        "quantize": "int8_bf16_head", "one_type_per_entity": True,
                                        "batch_size": 4},
    # the Pile-NER passages (ChatGPT's labels, the paper's data: most of the types) drawn twice
    # as often a round, so fewer gold-corpus passages (most of them biomedical)
    "2500 passages pile x2 corpus x3": {"n_passages": 2500, "sources": "pile x2", "negatives": "corpus",
                                        "n_negatives": 3, "quantize": "int8_bf16_head", "one_type_per_entity": True},
    # the peak learning rate, never swept before: twice the kept recipe's 1.5e-3
    "2500 passages corpus x3 lr 3e-3": {"n_passages": 2500, "negatives": "corpus", "n_negatives": 3,
                                        "quantize": "int8_bf16_head", "one_type_per_entity": True,
                                        "learning_rate": 3e-3},
    # replicates with another seed (other passages drawn, another order): of the kept recipe, then
    # of the higher learning rate
    "2500 passages corpus x3 seed 1": {"n_passages": 2500, "negatives": "corpus", "n_negatives": 3,
                                       "quantize": "int8_bf16_head", "one_type_per_entity": True, "seed": 1},
    "2500 passages corpus x3 lr 3e-3 seed 1": {"n_passages": 2500, "negatives": "corpus", "n_negatives": 3,
                                               "quantize": "int8_bf16_head", "one_type_per_entity": True,
                                               "learning_rate": 3e-3, "seed": 1},
    # round 12, on the kept recipe (lr 3e-3). The learning rate once more doubled: the only lever
    # that raised validation F1 for both seeds of round 11
    "2500 passages corpus x3 lr 6e-3": {"n_passages": 2500, "negatives": "corpus", "n_negatives": 3,
                                        "quantize": "int8_bf16_head", "one_type_per_entity": True,
                                        "learning_rate": 6e-3},
    # true negatives only: none for the partially labelled Pile-NER and GLiNER passages (one
    # type listed a passage, so a type drawn from their pool as "[]" may be in the passage)
    "2500 passages complete x3 lr 3e-3": {"n_passages": 2500, "negatives": "complete", "n_negatives": 3,
                                          "quantize": "int8_bf16_head", "one_type_per_entity": True,
                                          "learning_rate": 3e-3},
    # the fine and free types of Few-NERD (53 types) and the GLiNER sample (144 labels) among the
    # sources: tried on round 1's 400-passage baseline only (contradicted there)
    "2500 passages diverse corpus x3 lr 3e-3": {"n_passages": 2500, "sources": "diverse", "negatives": "corpus",
                                                "n_negatives": 3, "quantize": "int8_bf16_head",
                                                "one_type_per_entity": True, "learning_rate": 3e-3},
    # decoding only: a logit penalty for "[]" on the kept student, whose precision on the first
    # suite is above its recall (the summary table of the first suite)
    "2500 passages corpus x3 lr 3e-3 empty bias -0.5": {"n_passages": 2500, "negatives": "corpus", "n_negatives": 3,
                                                        "quantize": "int8_bf16_head", "one_type_per_entity": True,
                                                        "learning_rate": 3e-3, "empty_bias": -0.5},
    # a replicate of the diverse mix (another seed: other passages drawn, another order), the
    # highest single draw on the current suite
    "2500 passages diverse corpus x3 lr 3e-3 seed 1": {"n_passages": 2500, "sources": "diverse",
                                                       "negatives": "corpus", "n_negatives": 3,
                                                       "quantize": "int8_bf16_head", "one_type_per_entity": True,
                                                       "learning_rate": 3e-3, "seed": 1},
    # round 13, decoding only: the kept student's linear layers in bfloat16 (norms, embeddings and
    # the residual stream in float32), which the CPU multiplies with its bfloat16 instructions
    # (benchmarks/results/inference_bf16.json: nearly int8's speed, more of float32's answers), and
    # in float32 itself, what every int8 decoding approximates
    "2500 passages diverse corpus x3 lr 3e-3 bf16": {"n_passages": 2500, "sources": "diverse", "negatives": "corpus",
                                                     "n_negatives": 3, "quantize": "bf16",
                                                     "one_type_per_entity": True, "learning_rate": 3e-3},
    "2500 passages diverse corpus x3 lr 3e-3 float32": {"n_passages": 2500, "sources": "diverse",
                                                        "negatives": "corpus", "n_negatives": 3, "quantize": "",
                                                        "one_type_per_entity": True, "learning_rate": 3e-3},
    # round 13, training levers on the kept recipe (decoded as it is). Every weight tuned (no
    # LoRA), tried before only on round 1's 400-passage baseline: first on fewer passages, since
    # a full step also computes every weight's gradient and was expected to cost more
    "1800 passages diverse corpus x3 full tuning lr 2e-4": {"n_passages": 1800, "sources": "diverse",
                                                            "negatives": "corpus", "n_negatives": 3,
                                                            "quantize": "int8_bf16_head", "one_type_per_entity": True,
                                                            "lora": False, "learning_rate": 2e-4},
    # it trained them in about half the kept recipe's seconds instead (the train s column; why
    # a LoRA token costs more here was not measured), so the kept recipe's wall time pays for
    # about 3400
    "3400 passages diverse corpus x3 full tuning lr 2e-4": {"n_passages": 3400, "sources": "diverse",
                                                            "negatives": "corpus", "n_negatives": 3,
                                                            "quantize": "int8_bf16_head", "one_type_per_entity": True,
                                                            "lora": False, "learning_rate": 2e-4},
    # a learning rate between round 11's 1.5e-3 and the kept 3e-3 (6e-3 was contradicted)
    "2500 passages diverse corpus x3 lr 2e-3": {"n_passages": 2500, "sources": "diverse", "negatives": "corpus",
                                                "n_negatives": 3, "quantize": "int8_bf16_head",
                                                "one_type_per_entity": True, "learning_rate": 2e-3},
    # a third of the conversations lower-cased (as MultiCoNER II and the MIT sets are), on the diverse mix
    _KEPT_13: _KEPT_13_RECIPE,
    # a replicate of the lower-cased conversations (another seed): its one draw ranked above the
    # kept recipe's mean of two
    f"{_KEPT_13} seed 1": {**_KEPT_13_RECIPE, "seed": 1},
    # a replicate of lr 2e-3 (another seed): its one draw ranked above the kept recipe's mean of two
    "2500 passages diverse corpus x3 lr 2e-3 seed 1": {"n_passages": 2500, "sources": "diverse",
                                                       "negatives": "corpus", "n_negatives": 3,
                                                       "quantize": "int8_bf16_head", "one_type_per_entity": True,
                                                       "learning_rate": 2e-3, "seed": 1},
    # round 14, decoding only: each draw of the kept recipe (three, with the seed-2 draw below)
    # with its linear layers in bfloat16, and its first draw in float32. Notebook 03's check put int8_bf16_head 13.9 F1 below float32
    # on 14 test sentences (round 13's report); the validation suite is where a decoding is chosen
    **{f"{_KEPT_13}{f' seed {seed}' if seed else ''} {name}": {**_KEPT_13_RECIPE, "quantize": quantize,
                                                                **({"seed": seed} if seed else {})}
       for seed, name, quantize in ((0, "bf16", "bf16"), (1, "bf16", "bf16"), (2, "bf16", "bf16"), (0, "float32", ""))},
    # round 14: a third draw of the kept recipe (another seed), for its decoding in bfloat16 above
    f"{_KEPT_13} seed 2": {**_KEPT_13_RECIPE, "seed": 2},
    # round 14, training levers on the kept recipe (decoded as it is): a LoRA of rank 64 (four
    # times the adapter; alpha scaled with it), and every weight tuned at a higher learning rate
    # than round 13's 2e-4 (its students said "none" less often than LoRA's and were less precise)
    f"{_KEPT_13} lora r64": {**_KEPT_13_RECIPE, "lora_r": 64, "lora_alpha": 128},
    "2500 passages diverse corpus x3 lowercase 0.3 full tuning lr 5e-4": {**_KEPT_13_RECIPE, "lora": False,
                                                                          "learning_rate": 5e-4},
    # round 15, on round 14's kept recipe: Few-NERD (human labels of 53 fine types, every type of
    # a passage labelled) drawn four times a round instead of once, so that fine general types
    # (athlete, politician, award, software, film...) are asked and denied more often
    f"{_FEW_NERD_15} bf16": {**_KEPT_14_RECIPE, "sources": "few-nerd x4"},
    # a replicate of the few-nerd x4 mix (another seed): its one draw ranked above the kept recipe's
    # mean of three
    f"{_FEW_NERD_15} seed 1 bf16": {**_KEPT_14_RECIPE, "sources": "few-nerd x4", "seed": 1},
    # round 15, decoding only: a small logit penalty for "[]" on the kept student, which says "none" more
    # often than gold on this suite (the -0.5 of rounds 11 and 12 scored lower on earlier students here)
    f"{_KEPT_14} empty bias -0.25": {**_KEPT_14_RECIPE, "empty_bias": -0.25},
    # twice that penalty on the same student, and the smaller one on the recipe's seed-1 draw (trained
    # again: round 14's copy was lost), decoded with and without it so that both rows read one student
    f"{_KEPT_14} empty bias -0.5": {**_KEPT_14_RECIPE, "empty_bias": -0.5},
    f"{_KEPT_13} seed 1 bf16 empty bias -0.25": {**_KEPT_14_RECIPE, "seed": 1, "empty_bias": -0.25},
    # round 15: twice the sequences a step (half the optimizer steps of the same tokens): batches of
    # four scored lower than eight in round 11
    f"{_KEPT_13} batch 16 bf16": {**_KEPT_14_RECIPE, "batch_size": 16},
    # its replicate (another seed): its one draw ranked above the kept recipe's mean of three
    f"{_KEPT_13} batch 16 seed 1 bf16": {**_KEPT_14_RECIPE, "batch_size": 16, "seed": 1},
    # round 16, on round 15's kept recipe: a third of the conversations ask their types in title case
    # ("Sports Team"), drawn apart from the lower-cased third; every type the teacher data asks is
    # lower-case, while MIT Restaurant's official file capitalizes its own ("Restaurant Name") and the
    # suite's title-cased view (added this round) asks so
    # (its one draw scored below the kept configuration, so no second draw was trained)
    f"{_TITLED_16} bf16 empty bias -0.25": {**_KEPT_15_RECIPE, "titlecase": 0.3},
    # round 17, decoding only: the kept student asked every type in lower case, as its teacher data
    # asks them; it changes the questions of the title-cased view alone (of the seven test sets, of
    # MIT Restaurant alone), so the other views' answers are the kept configuration's own
    f"{_KEPT_15} lower types": {**_KEPT_15_RECIPE, "lower_types": True},
}

#: configurations that repeat another's recipe with another seed (the baseline's, or a lever's):
#: shown for the run-to-run spread of training, never kept
REPLICATES: tuple[str, ...] = tuple(name for name, config in CONFIGS.items() if config.get("seed", 0) != 0)

#: configurations measured but never kept, with why: float32 decoding is what int8 decoding
#: trades for speed (benchmarks/results/inference.json times them on one set), and the default
#: report, which decodes every chapter's evaluations, cannot pay it within its 45 minutes
_FLOAT32 = "decodes in float32, which the default report cannot afford"
#: round 9: the float32 output head of ``int8_body`` decodes slower than the int8 or bfloat16
#: heads (the campaign's progress lines), and the default report decoded with it (round 8's
#: kept configuration) ran over its 45 minutes; the same students decoded with the bfloat16
#: head are in the table
_FLOAT_HEAD = ("decodes with a float32 output head (int8_body), which the default report cannot afford "
               "(decoded so, round 8's report ran over its 45 minutes)")
UNAFFORDABLE: dict[str, str] = {"float32": _FLOAT32, "2000 passages float32": _FLOAT32,
                                "2500 passages diverse corpus x3 lr 3e-3 float32": _FLOAT32,
                                f"{_KEPT_13} float32": _FLOAT32,
                                **{name: _FLOAT_HEAD for name, config in CONFIGS.items()
                                   if config.get("quantize") == "int8_body"}}

#: pairs of configurations compared directly (the first minus the second, paired over the
#: same validation questions), beside each one's difference against the baseline: a decoding
#: that should answer as float32 does is measured against float32 itself
PAIRS: tuple[tuple[str, str], ...] = (("int8 rows", "float32"), ("2000 passages int8 rows", "2000 passages float32"),
                                      ("int8 smooth", "float32"), ("2000 passages int8 smooth", "2000 passages float32"),
                                      ("2000 passages int8 smooth", "2000 passages int8 rows"),
                                      # round 8: each decoding lever against the kept student's decoding, then
                                      # the training lever against the best decoding of the 2000-passage student
                                      ("2000 passages int8 body", "2000 passages int8 rows"),
                                      ("2000 passages int8 body", "2000 passages float32"),
                                      ("2000 passages int8 rows empty bias 0.5", "2000 passages int8 rows"),
                                      ("2000 passages int8 rows one type per entity", "2000 passages int8 rows"),
                                      ("2000 passages int8 body one type per entity",
                                       "2000 passages int8 rows one type per entity"),
                                      ("2000 passages int8 body one type per entity empty bias 0.5",
                                       "2000 passages int8 body one type per entity"),
                                      ("3200 passages top 15 layers", "2000 passages int8 body one type per entity"),
                                      ("1700 passages frequency x3", "2000 passages int8 body one type per entity"),
                                      ("1700 passages corpus x3", "2000 passages int8 body one type per entity"),
                                      ("1700 passages corpus x3", "1700 passages frequency x3"),
                                      ("1700 passages corpus x3 all types", "1700 passages corpus x3"),
                                      ("1700 passages corpus x3 int8 rows", "1700 passages corpus x3"),
                                      # round 9
                                      ("1700 passages corpus x3 bf16 head", "1700 passages corpus x3"),
                                      ("1900 passages corpus x2", "1700 passages corpus x3 bf16 head"),
                                      ("1700 passages corpus x3 seed 1", "1700 passages corpus x3 bf16 head"),
                                      # round 10
                                      ("1600 passages corpus x4", "1700 passages corpus x3 bf16 head"),
                                      ("1550 passages corpus x5", "1700 passages corpus x3 bf16 head"),
                                      ("1550 passages corpus x5", "1600 passages corpus x4"),
                                      ("2500 passages corpus x3", "1700 passages corpus x3 bf16 head"),
                                      # round 11
                                      ("2500 passages corpus x3 empty bias -0.5", "2500 passages corpus x3"),
                                      ("2500 passages corpus x3 lowercase 0.3", "2500 passages corpus x3"),
                                      ("2500 passages corpus x3 batch 4", "2500 passages corpus x3"),
                                      ("2500 passages pile x2 corpus x3", "2500 passages corpus x3"),
                                      ("2500 passages corpus x3 lr 3e-3", "2500 passages corpus x3"),
                                      ("2500 passages corpus x3 seed 1", "2500 passages corpus x3"),
                                      ("2500 passages corpus x3 lr 3e-3 seed 1", "2500 passages corpus x3 lr 3e-3"),
                                      ("2500 passages corpus x3 lr 3e-3 seed 1", "2500 passages corpus x3 seed 1"),
                                      # round 12: each lever against the kept recipe
                                      ("2500 passages corpus x3 lr 6e-3", "2500 passages corpus x3 lr 3e-3"),
                                      ("2500 passages diverse corpus x3 lr 3e-3", "2500 passages corpus x3 lr 3e-3"),
                                      ("2500 passages complete x3 lr 3e-3", "2500 passages corpus x3 lr 3e-3"),
                                      ("2500 passages corpus x3 lr 3e-3 empty bias -0.5", "2500 passages corpus x3 lr 3e-3"),
                                      ("2500 passages diverse corpus x3 lr 3e-3 seed 1",
                                       "2500 passages diverse corpus x3 lr 3e-3"),
                                      ("2500 passages diverse corpus x3 lr 3e-3 seed 1",
                                       "2500 passages corpus x3 lr 3e-3 seed 1"),
                                      # round 13: each decoding against the kept one, bfloat16 against float32
                                      ("2500 passages diverse corpus x3 lr 3e-3 bf16",
                                       "2500 passages diverse corpus x3 lr 3e-3"),
                                      ("2500 passages diverse corpus x3 lr 3e-3 float32",
                                       "2500 passages diverse corpus x3 lr 3e-3"),
                                      ("2500 passages diverse corpus x3 lr 3e-3 bf16",
                                       "2500 passages diverse corpus x3 lr 3e-3 float32"),
                                      # round 13: each training lever against the kept recipe
                                      *((lever, "2500 passages diverse corpus x3 lr 3e-3") for lever in (
                                          "1800 passages diverse corpus x3 full tuning lr 2e-4",
                                          "3400 passages diverse corpus x3 full tuning lr 2e-4",
                                          "2500 passages diverse corpus x3 lr 2e-3",
                                          "2500 passages diverse corpus x3 lr 3e-3 lowercase 0.3")),
                                      ("2500 passages diverse corpus x3 lr 2e-3 seed 1",
                                       "2500 passages diverse corpus x3 lr 2e-3"),
                                      ("2500 passages diverse corpus x3 lr 2e-3 seed 1",
                                       "2500 passages diverse corpus x3 lr 3e-3 seed 1"),
                                      ("2500 passages diverse corpus x3 lr 3e-3 lowercase 0.3 seed 1",
                                       "2500 passages diverse corpus x3 lr 3e-3 lowercase 0.3"),
                                      ("2500 passages diverse corpus x3 lr 3e-3 lowercase 0.3 seed 1",
                                       "2500 passages diverse corpus x3 lr 3e-3 seed 1"),
                                      # round 14: each draw's decodings against its own int8 decoding, the third
                                      # draw against the first, bfloat16 against float32; each training lever
                                      # against the kept recipe
                                      *((f"{_KEPT_13}{decoding}", f"{_KEPT_13}{draw}") for decoding, draw in (
                                          (" bf16", ""), (" seed 1 bf16", " seed 1"), (" seed 2 bf16", " seed 2"),
                                          (" float32", ""))),
                                      (f"{_KEPT_13} seed 2", _KEPT_13),
                                      (f"{_KEPT_13} bf16", f"{_KEPT_13} float32"),
                                      (f"{_KEPT_13} lora r64", _KEPT_13),
                                      ("2500 passages diverse corpus x3 lowercase 0.3 full tuning lr 5e-4", _KEPT_13),
                                      # round 15: each lever against the kept recipe
                                      (f"{_FEW_NERD_15} bf16", _KEPT_14),
                                      (f"{_FEW_NERD_15} seed 1 bf16",
                                       f"{_FEW_NERD_15} bf16"),
                                      (f"{_FEW_NERD_15} seed 1 bf16",
                                       f"{_KEPT_13} seed 1 bf16"),
                                      (f"{_KEPT_14} empty bias -0.25", _KEPT_14),
                                      (f"{_KEPT_14} empty bias -0.5", _KEPT_14),
                                      (f"{_KEPT_13} seed 1 bf16 empty bias -0.25", f"{_KEPT_13} seed 1 bf16"),
                                      (f"{_KEPT_13} batch 16 bf16", _KEPT_14),
                                      (f"{_KEPT_13} batch 16 seed 1 bf16", f"{_KEPT_13} batch 16 bf16"),
                                      (f"{_KEPT_13} batch 16 seed 1 bf16", f"{_KEPT_13} seed 1 bf16"),
                                      # round 16, on the suite with the title-cased view: the lever against the
                                      # kept configuration
                                      (f"{_TITLED_16} bf16 empty bias -0.25", _KEPT_15),
                                      # round 17: the decoding lever against the kept student as it decodes
                                      (f"{_KEPT_15} lower types", _KEPT_15))
