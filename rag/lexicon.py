"""What a word in a question also means in the library's language.

People ask about the tablet in their cupboard ("ibuprofen", "Advil", "an EpiPen"); articles speak of classes
and generic names ("oral analgesics", "NSAIDs", "intramuscular adrenaline"). A small hand-kept map bridges
the two for the verdict of a yes/no question and for deciding whether the library knows a word at all. It
lists generic drug names and common brands with their classes; it is deliberately small and exact, so an
entry never makes evidence say more than it says.
"""

from __future__ import annotations

from functools import lru_cache

from rag.text import split_terms, terms

# word -> words an article may use for it (classes, generic names, other spellings)
ALSO: dict[str, tuple[str, ...]] = {
    "ibuprofen": ("nsaid", "nsaids", "analgesic", "analgesics", "painkiller", "anti-inflammatory"),
    "naproxen": ("nsaid", "nsaids", "analgesic", "analgesics", "painkiller", "anti-inflammatory"),
    "diclofenac": ("nsaid", "nsaids", "analgesic", "analgesics", "painkiller", "anti-inflammatory"),
    "advil": ("ibuprofen", "nsaid", "analgesic", "analgesics", "painkiller"),
    "motrin": ("ibuprofen", "nsaid", "analgesic", "analgesics", "painkiller"),
    "nurofen": ("ibuprofen", "nsaid", "analgesic", "analgesics", "painkiller"),
    "aleve": ("naproxen", "nsaid", "analgesic", "analgesics", "painkiller"),
    "paracetamol": ("acetaminophen", "analgesic", "analgesics", "painkiller", "antipyretic"),
    "acetaminophen": ("paracetamol", "analgesic", "analgesics", "painkiller", "antipyretic"),
    "tylenol": ("paracetamol", "acetaminophen", "analgesic", "analgesics", "painkiller"),
    "calpol": ("paracetamol", "acetaminophen", "analgesic", "antipyretic"),
    "painkiller": ("analgesic", "analgesics"),
    "painkillers": ("analgesic", "analgesics"),
    "haloperidol": ("antipsychotic", "antipsychotics", "neuroleptic"),
    "risperidone": ("antipsychotic", "antipsychotics", "neuroleptic"),
    "olanzapine": ("antipsychotic", "antipsychotics", "neuroleptic"),
    "quetiapine": ("antipsychotic", "antipsychotics"),
    "epipen": ("adrenaline", "epinephrine", "auto-injector", "intramuscular"),
    "adrenaline": ("epinephrine",),
    "epinephrine": ("adrenaline",),
    "benadryl": ("antihistamine", "antihistamines", "diphenhydramine"),
    "piriton": ("antihistamine", "antihistamines", "chlorphenamine"),
    "cetirizine": ("antihistamine", "antihistamines"),
    "amoxicillin": ("penicillin", "antibiotic", "antibiotics"),
    "augmentin": ("amoxicillin", "co-amoxiclav", "penicillin", "antibiotic"),
    "metoprolol": ("beta-blocker", "beta-blockers", "beta"),
    "atenolol": ("beta-blocker", "beta-blockers", "beta"),
    "bisoprolol": ("beta-blocker", "beta-blockers", "beta"),
    "propranolol": ("beta-blocker", "beta-blockers", "beta"),
    "lisinopril": ("ace", "inhibitor"),
    "ramipril": ("ace", "inhibitor"),
    "losartan": ("arb", "angiotensin"),
    "coumadin": ("warfarin",),
    "eliquis": ("apixaban", "doac", "doacs"),
    "xarelto": ("rivaroxaban", "doac", "doacs"),
    "tamiflu": ("oseltamivir", "antiviral", "antivirals"),
    "lipitor": ("atorvastatin", "statin", "statins"),
    "zocor": ("simvastatin", "statin", "statins"),
    "crestor": ("rosuvastatin", "statin", "statins"),
    "mestinon": ("pyridostigmine",),
    "narcan": ("naloxone",),
    "prednisolone": ("steroid", "steroids", "corticosteroid", "corticosteroids"),
    "prednisone": ("steroid", "steroids", "corticosteroid", "corticosteroids"),
    "steroid": ("corticosteroid", "corticosteroids"),
    "steroids": ("corticosteroid", "corticosteroids"),
    # lay words for organs and their clinical adjectives
    "heart": ("cardiac", "cardiomyopathy"),
    "lung": ("pulmonary", "respiratory", "breathing"),
    "lungs": ("pulmonary", "respiratory", "breathing"),
    "breathing": ("respiratory", "pulmonary"),
    "kidney": ("renal",),
    "kidneys": ("renal",),
    "liver": ("hepatic",),
    "brain": ("cerebral",),
    "hypertension": ("high", "blood", "pressure"),
    "bp": ("blood", "pressure"),
    # lay descriptions of signs
    "droopy": ("drooping", "droop", "weakness"),
    "dribble": ("drooling", "saliva"),
    "dribbles": ("drooling", "saliva"),
    "dribbling": ("drooling", "saliva"),
    "bullseye": ("erythema", "migrans", "rash"),
    "busting": ("thrombolysis", "thrombolytic"),
    "clot": ("thrombus", "thrombosis", "embolism", "thrombolysis", "thrombectomy"),
    "clots": ("thrombus", "thrombosis", "embolism", "thrombolysis", "thrombectomy"),
    "toddler": ("child", "children"),
    "toddlers": ("child", "children"),
    "vincristine": ("chemotherapy", "neurotoxic"),
    # clinical abbreviations and brands people type
    "afib": ("atrial", "fibrillation"),
    "uti": ("urinary", "infection", "cystitis"),
    "utis": ("urinary", "infection", "cystitis"),
    "niv": ("non-invasive", "ventilation"),
    "tpa": ("alteplase", "thrombolysis"),
    "stemi": ("st-elevation", "myocardial", "infarction"),
    "od": ("overdose",),
    "kd": ("kawasaki",),
    "dexa": ("dxa", "bone", "density"),
    "xray": ("x-ray", "radiograph"),
    "yr": ("year",),
    "yrs": ("years",),
    "gp": ("primary", "care", "doctor"),
    "ck": ("creatine", "kinase"),
    "mnd": ("motor", "neuron", "neurone", "als"),
    # clinical shorthand
    "rx": ("treatment", "treated", "therapy"),
    "tx": ("treatment", "treated", "therapy"),
    "dx": ("diagnosis", "diagnosed"),
    "ddx": ("differential", "diagnosis"),
    "hx": ("history",),
    "sx": ("symptoms", "symptom"),
    "ppx": ("prophylaxis", "prevention", "preventive"),
    "pt": ("patient",),
    "pts": ("patients",),
    "emg": ("electromyography", "needle"),
    "workup": ("investigation", "investigations", "tests", "assessment"),
    "botox": ("botulinum", "toxin"),
    "prolia": ("denosumab",),
    "entresto": ("sacubitril", "valsartan"),
    "zolgensma": ("onasemnogene",),
    "spinraza": ("nusinersen",),
    "evrysdi": ("risdiplam",),
    "keppra": ("levetiracetam",),
    "jab": ("vaccine", "vaccination"),
    "jabs": ("vaccine", "vaccination"),
    "fit": ("seizure",),
    "fits": ("seizures",),
}


@lru_cache(maxsize=1)
def _stemmed() -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for word, also in ALSO.items():
        key = terms(word)
        if len(key) == 1:
            out[key[0]] = frozenset(t for a in also for t in split_terms(a))
    return out


def also(stem: str) -> frozenset[str]:
    """The stem and every stem the map says it also stands for."""
    return frozenset({stem}) | _stemmed().get(stem, frozenset())


def expand(stems: set[str]) -> set[str]:
    out: set[str] = set()
    for s in stems:
        out |= also(s)
    return out


__all__ = ["ALSO", "also", "expand"]
