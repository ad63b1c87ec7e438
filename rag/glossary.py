"""Plain-language explanations of the medical terms the patient template keeps. Answers quote the
articles word for word (a citation must point at what was said), so instead of rewording a sentence the
patient view explains the terms in it."""

from __future__ import annotations

import re

GLOSSARY: dict[str, str] = {
    "amyotrophic lateral sclerosis": "a disease in which the nerve cells that control muscles slowly die",
    "atrophy": "wasting or shrinking of a muscle",
    "autoimmune": "caused by the body's immune system attacking its own tissue",
    "bulbar": "to do with the muscles of the mouth and throat used to speak and swallow",
    "contraindicated": "should not be used because it could cause harm",
    "corticosteroid": "a steroid medicine that calms inflammation",
    "creatine kinase": "a muscle enzyme measured in a blood test; high levels suggest muscle damage",
    "demyelinating": "damaging the protective coating around nerves",
    "dysarthria": "difficulty speaking clearly",
    "dysphagia": "difficulty swallowing",
    "dyspnoea": "shortness of breath",
    "dyspnea": "shortness of breath",
    "electromyography": "a test that records the electrical activity of muscles",
    "emg": "a test that records the electrical activity of muscles",
    "etiology": "the cause of a disease",
    "aetiology": "the cause of a disease",
    "fasciculations": "small, visible muscle twitches",
    "fasciculation": "a small, visible muscle twitch",
    "hyperreflexia": "reflexes that are stronger than normal",
    "hypertension": "high blood pressure",
    "idiopathic": "with no known cause",
    "incidence": "how many new cases appear in a given time",
    "intravenous": "given into a vein",
    "ivig": "antibodies from donated blood, given into a vein",
    "immunoglobulin": "antibodies from donated blood, given as a treatment",
    "lumbar puncture": "a test that takes a small sample of the fluid around the spine",
    "motor neuron": "a nerve cell that controls a muscle",
    "motor neurons": "nerve cells that control muscles",
    "myopathy": "a disease of the muscles",
    "neuropathy": "damage to the nerves outside the brain and spinal cord",
    "neurodegenerative": "causing nerve cells to slowly stop working and die",
    "nerve conduction": "a test of how fast signals travel along nerves",
    "oral": "taken by mouth",
    "plasma exchange": "a treatment that filters harmful antibodies out of the blood",
    "prevalence": "how many people have a condition at one time",
    "prognosis": "the likely course and outcome of a disease",
    "prophylaxis": "treatment to prevent a disease",
    "respiratory": "to do with breathing",
    "sporadic": "happening without a family history",
    "subcutaneous": "given by injection under the skin",
    "spasticity": "stiff, tight muscles",
    "syncope": "fainting",
    "thrombolysis": "treatment with a drug that dissolves a blood clot",
    "thymectomy": "an operation to remove the thymus gland",
    "troponin": "a heart protein measured in a blood test to detect heart muscle damage",
    "anticoagulation": "blood-thinning treatment that lowers the risk of clots",
    "anticoagulant": "a blood-thinning medicine",
    "first-line": "the treatment usually tried first",
    "contraindication": "a reason not to use a treatment",
    "biopsy": "a small sample of tissue taken for testing",
    "mri": "a scan that uses magnets to make detailed pictures",
    "ecg": "a recording of the heart's electrical activity",
    "ischemia": "too little blood flow to part of the body",
    "ischaemia": "too little blood flow to part of the body",
    "myocardial infarction": "a heart attack",
    "angina": "chest pain caused by too little blood flow to the heart",
    "thrombectomy": "a procedure that pulls a blood clot out of an artery",
    "cardiomyopathy": "a disease of the heart muscle",
    "neuromuscular junction": "where a nerve passes its signal to a muscle",
    "antibodies": "proteins of the immune system that attach to a target",
    "paraneoplastic": "caused by the immune system's reaction to a cancer",
    "ptosis": "a drooping eyelid",
    "diplopia": "double vision",
    "corticosteroids": "steroid medicines that calm inflammation",
}

_PATTERNS = {term: re.compile(rf"\b{re.escape(term)}\b", re.I) for term in GLOSSARY}


def explain(text: str, limit: int = 8) -> list[tuple[str, str]]:
    """The glossary terms used in `text`, in order of first appearance."""
    found = []
    for term, pattern in _PATTERNS.items():
        m = pattern.search(text)
        if m:
            found.append((m.start(), term))
    seen: set[str] = set()
    out = []
    for _, term in sorted(found):
        meaning = GLOSSARY[term]
        if meaning in seen:
            continue
        seen.add(meaning)
        out.append((term, meaning))
    return out[:limit]


_GRADING = re.compile(r"\b(?:[Ll]evel|[Cc]lass|[Gg]rade)\s+(?:I{1,3}[ab]?|IV|[A-C])\b")  # "Level A", "Class IIa": for clinicians
_WORDS = re.compile(r"[^\W\d_][\w'-]*")


def unexplained(text: str, pieces) -> int:
    """How many words of `text` a patient would stumble on: technical words (the model's WordPiece
    tokenizer cuts them into 2+ pieces, as it does names and jargon but not everyday words) that the
    glossary does not explain, and evidence grades such as "Level A"."""
    explained = {w.lower() for term, _ in explain(text, limit=len(GLOSSARY)) for w in term.split()}
    hard = {w.lower() for w in _WORDS.findall(text) if len(w) > 3 and pieces(w.lower()) >= 2}
    return len(hard - explained) + len(_GRADING.findall(text))
