"""Tiny tokenizers of the three kinds (WordPiece, byte-level BPE, SentencePiece-style Unigram), trained in the test.

Each is trained with the ``tokenizers`` library on a few sentences (nothing downloaded), wrapped as a
transformers fast tokenizer with [CLS]/[SEP]/[MASK]/[UNK], and paired with a tiny random BERT
classifier of matching vocabulary size so the real explainer can run on it.
"""

from __future__ import annotations

SENTENCES = [
    "i feel extraordinarily happy today",
    "this is so sad and i am crying",
    "i love my new phone it is wonderful",
    "he was furious and angry about the delay",
    "i am scared of the dark night",
    "what a surprise that was amazing",
    "don't worry, be happy!!! lol",
    "the weather today is nice and sunny",
] * 4
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
KINDS = ("wordpiece", "bytelevel_bpe", "sentencepiece")
LABELS = ["sadness", "joy", "love", "anger", "fear", "surprise"]


def build_tokenizer(kind: str):
    """A ``PreTrainedTokenizerFast`` of ``kind`` trained on :data:`SENTENCES`."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    if kind == "wordpiece":
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=True)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(vocab_size=120, special_tokens=SPECIALS)
    elif kind == "bytelevel_bpe":
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    elif kind == "sentencepiece":
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        trainer = trainers.UnigramTrainer(vocab_size=120, special_tokens=SPECIALS, unk_token="[UNK]")
    else:
        raise ValueError(kind)
    tok.train_from_iterator(SENTENCES, trainer=trainer)
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")


def build_model(tokenizer, seed: int = 0):
    """A tiny random BERT classifier over ``tokenizer``'s vocabulary, in eval mode."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=24, max_position_embeddings=64, num_labels=len(LABELS),
                        id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)})
    return BertForSequenceClassification(config).eval()
