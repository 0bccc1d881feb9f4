"""Crisis detection: suicidal ideation, self-harm, overdose and immediate danger.

A crisis verdict never holds or blocks a message: the message goes out as normal, the sender
privately gets the care card and the facilitators get an alert with ``hint(kind)``. Missing a
crisis is worse than a spare card, so rules lean towards recall, but recovery shares talk
about dark times all the time and must not set off alarms at every meeting.

Theory of operation. Rules are phrase patterns on the matching form (casefolded, leetspeak
mapped, repeated letters collapsed: "i wanna dieee" reads "i wana die"). Tense is carried by
the patterns themselves: "want to die" matches, "wanted to die" does not; "I took all my
pills" matches because an overdose in the simple past is still happening. Each clause
(sentences, split again at "but") is then checked for what cancels a match:

- negation just before it ("I'm not going to kill myself", "I don't think I want to die");
- a condition ("if you ever want to die, call 988", "call 911 if someone's overdosing");
- a past-time marker in the clause ("back in 2017", "years ago", "used to", "at my lowest",
  "woke up in the ICU") unless a present cue is there too ("I used to cut, now I'm cutting
  again"); a past cognition verb just before ("I thought everyone would be better off");
- a joke or an idiom right after ("I could die of embarrassment lol").

Some rules need a present cue ("I cut myself" is only a crisis with "again", "tonight",
"just"...). A few farewell rules look at the whole message ("I'm done. Goodbye everyone").
Phrases just as common in ordinary talk need a second cue anywhere in the message ("the knife
is in my hand" with an urge named, not while cooking; "I'm not gonna be around much longer"
with a way to die or a last wish, not before a flight; "I'm turning blue" with a drug or
"can't breathe"), and a few are cancelled by an explanation ("giving away my stuff" before a
move); the semantic screen is the second net for them on their own.

Cost: every check is linear in the message. What a rule looks at besides its match (a joke
after it, a cue or an explanation in the message, the clause's time words) is found once per
clause or message, and the look-backs read a bounded window; an unbounded ``.*`` in a
look-around would be re-run at every candidate match.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..context import ScreenContext
from ..message import Message
from ..normalise import compile_words, fold_pattern
from ..scans import MATCHING
from ..verdict import CrisisKind, StageResult

HINTS: Mapping[CrisisKind, str] = {
    "suicide": (
        "Someone may be thinking about suicide. Reach out privately and kindly, ask directly "
        "whether they are safe right now, stay with them, and make sure they have the crisis "
        "line card. Do not debate, scold or move the conversation to the room."
    ),
    "self_harm": (
        "Someone may be hurting themselves. Check in privately and calmly, ask whether they "
        "are safe and whether they need medical help, and point them to the resources card."
    ),
    "overdose": (
        "Someone may have overdosed or be about to. Ask privately where they are and whether "
        "anyone is with them; urge them or that person to call emergency services now and to "
        "use naloxone if they have it. Do not wait to see if it passes."
    ),
    "danger": (
        "Someone may be in immediate danger. Ask privately whether they can get somewhere "
        "safe and call emergency services; keep messages short, and never repeat their "
        "details in the room."
    ),
}


def hint(kind: CrisisKind) -> str:
    """The suggested response for facilitators for a crisis kind (no message text in it)."""
    return HINTS[kind]


# --- building blocks (natural spelling; folded with the patterns) ------------------------------

_I = r"(?:i|im|i am|ive|i have|id|i would|i just|i really)"
_I_FUTURE = r"(?:i'll|i will|imma|ima|i'ma|im a|i am a)"
# The speaker, or a clause with the subject left out ("wanna die"); a lone "1" opening the
# clause is a leetspeak "I" ("1 w4nt t0 d13"), which the matching form leaves as a digit.
_SUBJ = rf"(?:{_I} |^ ?(?:1 )?)"
_ADV = (
    r"(?:(?:really|just|honestly|still|so|actually|kinda|kind of|literally|seriously|truly|"
    r"fucking|fkn|genuinely|sometimes|also|even|only|legit|lowkey|rly|jus|jst|definitely|def|"
    r"totally|do|think|feel like|feel|am|probably|almost|already|finally|simply|badly|"
    r"all|100%|highkey|deadass|fr|ngl|tbh|idk|keep) )*"
)
_WANT = (
    r"(?:want|wanna|wnat|wamt|whant|wan|wanta|need|wish|would like|ready|am ready|planning|"
    r"plan|decided|have decided|trying|try|intend|hope|have|got|gotta|should|could just|"
    r"can just|want so bad|wish i could|wanting|have to|need to)"
)
# Future forms: "I'm going to die if I keep drinking" predicts, it does not intend; these take
# only intent verbs, or a bare "die" in a clause without "if".
_FUTURE = r"(?:going|gonna|about|will|ll|might|may|am going|m going|finally going)"
_TO = r"(?: to| 2| too| ta|2)?"
_DIE_BARE = r"(?:die|dye|be dead|be gone)"
_DIE = (
    r"(?:not be here|not be alive|not exist|stop existing|stop living|"
    r"disappear(?! from| for)|end it|end it all|end things|end everything|end my life|"
    r"end this life|end my suffering|take my (?:own )?life|kill myself|kl myself|off myself|"
    r"end myself|"
    r"unalive myself|unalive|hang myself|shoot myself|jump off (?:a|the|my|this) \w+|"
    r"jump in front of|jump(?= *$| *[.,!]| from| tonight| rn| right now)|overdose|od|"
    r"sleep forever|go to sleep forever|"
    r"(?:go to |fall )?(?:sleep|asleep) (?:and|&) (?:never|not) wake up|never wake up|"
    r"not wake up|leave this world|"
    r"give up on life|commit suicide|commit sewerslide|sewerslide|ctb|"
    r"(?:drink|use|keep using|keep drinking) (?:myself )?(?:until|till|til) "
    r"(?:i die|im dead|i am dead|it kills me|i od|my heart stops)|drink myself to death|"
    r"(?:take|swallow|down|shoot|shoot up|snort) everything (?:i have|i got|ive got|i have left|"
    r"thats left|in the (?:house|cabinet|medicine cabinet))"
    r"(?=[^a-z0-9]*$| and (?:go to sleep|sleep|die|be done|end it|not wake up|never wake up)|"
    r" tonight| at once)|"
    r"(?:take|swallow|down|do|shoot|use|snort) (?:all|every|every single|every one of|all of|"
    r"the whole|the rest of|the entire)(?: \w+){0,3}? (?:pills?|meds|tablets|them|it|bottle|"
    r"bag|gram|bundle|stash|supply)|"
    # "(i want to) take it all in" is a newcomer listening
    r"(?:take|swallow|down|do|use) (?:them|it) all(?: at once)?(?! in(?! (?:one|a|an|the) ))|"
    r"(?:take|swallow|down) (?:a|the) whole bottle|slit my wrists|cut my wrists|be gone forever)"
)
_AFTER = r"(?! *(?:if|unless|of|from|laughing|with|between|on cake|inside))"
_QUANT = (
    r"(?:all|all of|all the|a whole|the whole|an entire|the entire|a bunch of|a handful of|"
    r"a fistful of|way too many|too many|so many|like \d{2,}|\d{2,}|like twenty|twenty|thirty|"
    r"forty|fifty|a hundred|double|triple|every one of|every)"
)
_DRUG = (
    r"(?:pills?|tablets?|meds?|medications?|bottle|capsules|doses?|them|xanax|xans|bars|"
    r"grams?|g|bag|bags|bundle|point|points|half|eighth|ball|shot|"
    r"oxys?|oxy|percs?|roxys?|fent|fentanyl|heroin|dope|h|tylenol|paracetamol|ibuprofen|advil|"
    r"ambien|klonopin|valium|benzos?|sleeping pills|sleeping tablets|antidepressants|insulin|"
    r"methadone|suboxone|morphine|codeine|lithium|seroquel|gabapentin|"
    r"adderall|coke|meth|my prescription|my script)"
)
# Named substances only (not "stuff", "them", "bag"): "too much of the stuff" is not a drug.
_DRUG_NAME = (
    r"(?:pills?|tablets?|meds|xanax|xans|bars|oxys?|percs?|roxys?|fent|fentanyl|heroin|dope|"
    r"tylenol|paracetamol|ambien|klonopin|valium|benzos?|sleeping pills|methadone|morphine|"
    r"codeine|seroquel|gabapentin|adderall|coke|cocaine|meth|crack|ketamine|ghb|insulin)"
)
_THIRD = (
    r"(?:he|she|they|hes|shes|theyre|he is|she is|they are|someone|somebody|someones|"
    r"my \w+|my \w+s|a guy|a man|this guy|people)"
)
_OTHERS = (
    r"(?:friend|boyfriend|girlfriend|bf|gf|husband|wife|partner|roommate|brother|sister|son|"
    r"daughter|mom|dad|mum|kid|cousin|buddy|mate|sponsee|neighbou?r)"
)
_SUICIDAL = (
    r"(?:suicidal|suicidle|suicidel|sucidal|suicidial|suisidal|suicdal|sucidle|suacidal|"
    r"suicidaal|suicidl|suicial|sewerslidal)"
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One crisis phrase pattern and what may cancel it.

    ``needs_cue``: only with a present or recent time cue in the clause.
    ``past_sensitive``: a past-time marker in the clause cancels it (unless a present cue).
    ``negatable``: a negation in the few words before cancels it.
    ``whole_message``: matched on the whole message instead of per clause.
    ``conditional_clause``: an "if"/"unless" anywhere in the clause cancels it.
    ``joke_after``: "lol", "haha", "lmao" or "jk" later in the clause cancels it.
    ``needs_message``: only when this pattern occurs somewhere in the message (a second cue).
    ``unless_message``: not when this pattern occurs somewhere in the message (an explanation).

    What a rule looks at beyond its match is checked outside its pattern, once per clause or
    message: never put an unbounded ``.*`` in a look-around, which the engine re-runs at every
    candidate match and which makes a long message cost quadratic time.
    """

    kind: CrisisKind
    pattern: re.Pattern[str]
    needs_cue: bool = False
    past_sensitive: bool = True
    negatable: bool = True
    whole_message: bool = False
    squeezed: bool = False
    conditional_clause: bool = False
    joke_after: bool = False
    needs_message: re.Pattern[str] | None = None
    unless_message: re.Pattern[str] | None = None


def _rule(
    kind: CrisisKind,
    pattern: str,
    *,
    needs_message: re.Pattern[str] | None = None,
    unless_message: re.Pattern[str] | None = None,
    **flags: bool,
) -> Rule:
    # "kill my self" is as common as "kill myself".
    pattern = pattern.replace("myself", "my ?self")
    compiled = re.compile(r"(?<![a-z0-9])(?:" + fold_pattern(pattern) + r")(?![a-z0-9])")
    return Rule(kind, compiled, needs_message=needs_message, unless_message=unless_message, **flags)


# Second cues for phrases that are ordinary talk on their own ("the knife is in my hand" while
# cooking, "i'm not gonna be around much longer" before a flight, "i'm turning blue" in the
# cold): the rule counts only when the message also names a way to die or a farewell of a
# kind a meeting does not hear at the end of a share ("gotta go, bye everyone" is not one).
_GRAVE_CUE = compile_words(
    r"kill my ?self|end it|end it all|end my life|take my (?:own )?life|suicide|suicidal|"
    r"(?:want|wanna|ready|going|gonna|about) to die|wanna die|"
    r"(?:have|got|all|enough|saved|saving|stockpiled|hoarded) (?:of )?"
    r"(?:the |my |all my |all the )?(?:pills|meds)|rope|noose|gun|overdose|"
    r"(?:cant|cannot) (?:do this|take (?:it|this)|go on)(?: anymore| any longer)?|"
    r"better off (?:without me|dead)|forgive me|"
    r"tell my (?:kids|family|mom|mum|dad|wife|husband|son|daughter|parents)|"
    r"take care of my (?:kids|family|dog|cat|son|daughter|mom|mum)|no more pain|"
    r"wont need (?:it|them|anything|my)|goodbye (?:forever|world|cruel world)|final goodbye|"
    r"my last (?:message|day|night)"
)
# ... and for a blade at hand: the urge or the act ("i want to cut", not "i need to cut the
# onions"; not "my finger is bleeding" either).
_HARM_CUE = compile_words(
    r"(?:want|wanna|need|going|gonna|about|ready|urge|urges|tempted) (?:to )?"
    r"(?:cut|hurt|harm|burn) (?:my ?self|my (?:arms?|wrists?|legs?|thighs?|skin)|again|deep|deeper)"
    r"|(?:want|wanna|need|going|gonna|about|ready|urge|urges|tempted) (?:to )?"
    r"(?:cut|do it|end it|die)(?=[^a-z0-9]*$|[.,!?;])"
    r"|cutting (?:again|my ?self)|self harm|selfharm|self harming|suicidal|kill my ?self|"
    r"hurt my ?self|cut my ?self|harm my ?self|cant stop my ?self"
)
# ... and for a blue face: a drug, a dose or a body failing ("i'm turning blue in here, the AC
# is freezing" and "going blue for autism awareness month" have none).
_OVERDOSE_CUE = compile_words(
    r"(?:cant|cannot|hard to|struggling to) breathe|not breathing|help me|please help|pls help|"
    r"someone help|need help|911|ambulance|narcan|naloxone|overdose|overdosed|overdosing|od|"
    r"oding|oded|took (?:too much|too many|a lot|everything)|shot up|just used|just took|"
    r"snorted|fent|fentanyl|heroin|dope|pills|xanax|xans|benzos?|dizzy|pass out|passing out|"
    r"nodding|going to die|gonna die"
)
# Explanations for giving things away: a move, a clear-out, a donation.
_GIVING_AWAY_WHY = compile_words(
    r"(?:move|moving|moved|relocating|relocate)|new (?:place|apartment|flat|house|home|job)|"
    r"declutter|decluttering|downsize|downsizing|clear(?:ing)? out|clean(?:ing)? out|"
    r"spring cleaning|garage sale|yard sale|donate|donating|charity|thrift|goodwill|shelter|"
    r"minimalist|minimalism|marie kondo|too much stuff"
)
# Explanations for letters to the family: step work, amends, therapy, holidays.
_LETTERS_WHY = compile_words(
    r"step (?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)|"
    r"(?:\d+(?:st|nd|rd|th)|fourth|fifth|eighth|ninth|tenth) step|steps|step work|amends|"
    r"sponsor|therapist|therapy|counsel+or|counseling|homework|assignment|gratitude|christmas|"
    r"birthday|holidays?|mothers day|fathers day|grief|unsent|"
    r"(?:from|in) (?:rehab|treatment|detox|jail|prison)"
)
# A joke marker after a match ("i took too much adderall to study lol").
_JOKE = compile_words(r"lol|lo+l|haha(?:ha)*|lmao|lmfao|rofl|jk|jking|just kidding")
# An ending before a ledge or a railing means the place, not a jump ("on the ledge of
# relapsing", "sitting on the window ledge with my coffee"): only the clause's end, a time, or a
# jump may follow.
_AT_THE_EDGE_END = (
    r"(?=[^a-z0-9]*$| (?:rn|right now|now|tonight)[^a-z0-9]*$|"
    r" (?:and |about to |ready to |going to |gonna |want to |wanna )?(?:jump|let go)|"
    r" looking down)"
)


RULES: tuple[Rule, ...] = (
    # --- suicide --------------------------------------------------------------------------------
    _rule("suicide", rf"{_SUBJ}{_ADV}{_WANT}{_TO} {_ADV}(?:{_DIE}|{_DIE_BARE}){_AFTER}"),
    _rule("suicide", rf"(?:{_SUBJ}{_ADV}{_FUTURE}{_TO}|{_I_FUTURE}) {_ADV}{_DIE}{_AFTER}"),
    _rule(
        "suicide",
        rf"(?:{_SUBJ}{_ADV}{_FUTURE}{_TO}|{_I_FUTURE}) {_ADV}{_DIE_BARE}{_AFTER}",
        conditional_clause=True,
    ),
    _rule(
        "suicide",
        # "i'll" is "il" in the matching form (repeated letters collapse)
        r"(?:cant|can't|wont|will not|dont think (?:i (?:can|will|could)|il)|not going to|"
        r"not gonna) "
        r"(?:(?:survive|last|get through) (?:tonight|the night|til morning|till morning|"
        r"through the night|another day|much longer|this one)"
        # "i can't make it tonight, i'm sick" is a missed meeting: "make it" only with "through"
        # or a span of time, not a bare evening
        r"|make it (?:through (?:tonight|the night|this night|today)|(?:til|till|until|to) "
        r"morning|another day|much longer|through another day))"
        r"(?! shifts?(?![a-z]))",  # "through the night shift": work
        negatable=False,
    ),
    _rule(
        "suicide",
        r"(?:telling|tell|keep telling|keeps telling|tells) me to (?:kill myself|die|end it|"
        r"hurt myself|jump|do it)",
    ),
    _rule("suicide", r"do something (?:stupid|drastic|permanent)", needs_cue=True),
    _rule(
        "suicide",
        r"so (?:that )?i (?:dont|never|wont|do not|will not|can never) (?:wake up|have to wake up|"
        r"feel anything again|have to be here|exist)|so (?:that )?i (?:can )?(?:die|be gone)"
        r"|(?:hope|wish|pray|praying|hoping) (?:that )?i (?:dont|never|wont|do not) "
        r"(?:wake up|make it|survive)"
        # "i hope i don't wake up with a hangover", "i hope i don't make it worse"
        r"(?=[^a-z0-9]*$| (?:tomorrow|tonight|ever again|this time)[^a-z0-9]*$)"
        r"|(?:hope|wish|pray|praying|hoping) (?:that )?i (?:die|just die|am dead|drop dead)"
        r"(?! (?:of|from|laughing))",
        negatable=False,
    ),
    _rule(
        "suicide",
        r"(?:thinking|thought|think|considering|contemplating|planning|plan) "
        r"(?:about |bout |abt |of |on )?"
        r"(?:driving (?:\w+ ){0,2}(?:off|into)|crashing my car|walking into traffic|"
        r"stepping in front of|jumping (?:off|from|in front)|hanging my ?self|drowning my ?self|"
        r"shooting my ?self|slitting my|overdosing on purpose|taking (?:all )?my pills|"
        r"ending it|ending my life|killing my ?self|suicide|sucide|suicde|sewerslide|"
        r"unaliving my ?self)",
    ),
    _rule(
        "suicide",
        r"(?:have|got|holding|bought|ive got|i have|sitting here with) (?:a|the|my|some|enough|all)"
        r"(?: \w+){0,3} (?:pills|rope|gun|razor|blade|knife|noose)(?: .{0,80})? "
        r"(?:im done|i am done|this is it|goodbye|ready|no more|end it|its time|tonight)",
        whole_message=True,
    ),
    _rule(
        "suicide",
        r"(?:have|got|made|ive got|i have) a plan(?: .{0,60})? (?:do it|go through with it|"
        r"end it|tonight)"
        r"|(?:going to|gonna|will|ready to) go through with it",
        whole_message=True,
    ),
    _rule(
        "suicide",
        r"wont (?:need to |have to )be (?:here|around|alive) (?:tomorrow|anymore|much longer|"
        r"by morning|next week)"
        r"|wont be alive (?:tomorrow|anymore|much longer|by morning|next week)"
        r"|(?:this is|its) the last (?:time you(?:ll)? hear from me|message)"
        r"|tell my (?:kids|family|mom|mum|dad|wife|husband|son|daughter|parents) (?:that )?i "
        r"(?:love|loved|am sorry|m sorry)",
    ),
    _rule(
        "suicide",
        # letters to the family are also step work, amends and therapy homework
        r"(?:wrote|writing|left) (?:letters|a letter|notes|a note) (?:to|for) my",
        unless_message=_LETTERS_WHY,
    ),
    _rule(
        "suicide",
        # "i won't be here tomorrow" / "i'm not gonna be around much longer": a flight, a ride or
        # the school run as often as a farewell; only with a grave cue in the message
        r"wont be (?:here|around) (?:tomorrow|anymore|much longer|"
        r"by morning|next week|for long)"
        r"|(?:(?<=im )|(?<=am ))not (?:gonna|going to) be (?:here|around) "
        r"(?:much longer|for long|tomorrow|by morning)",
        needs_message=_GRAVE_CUE,
    ),
    _rule(
        "suicide",
        r"(?:nobody|no one|noone) (?:cares|would care|will care|gives a (?:shit|fuck|damn)) "
        r"(?:if|whether) i (?:live or die|lived or died|die|died"
        # "nobody cares if i make it to the meeting on time"
        r"|make it(?=[^a-z0-9]*$| (?:or not|through|anymore|any more|out alive)(?![a-z])))"
        r"|(?:im|i am|i feel like) (?:such )?a burden (?:to|on) (?:everyone|everybody|my family)"
        # "a burden on my family financially", "... until i find a job": money or a spell
        r"(?! (?:financially|money|moneywise|with (?:money|rent|bills|the bills)|for (?:money|rent|"
        r"now|a while|a bit)|until|till|while|since)(?![a-z]))",
        negatable=False,
    ),
    _rule(
        "suicide",
        # two branches, so that the prefilter can still list every phrase (up to 64 a branch)
        r"(?:kill myself|end it all|end my life|end it|commit suicide) "
        r"(?:tonight|today|right now|rn|now|this weekend|tomorrow)"
        r"|(?:commit sewerslide|end myself|unalive myself|take my (?:own )?life|off myself) "
        r"(?:tonight|today|right now|rn|now|this weekend|tomorrow)",
    ),
    _rule(
        "suicide",
        r"wish (?:i|i'd) (?:was|were|wasnt|werent|had never been|was never|were never|could) "
        r"(?:just )?(?:dead|alive|born|here|die|disappear|sleep forever|"
        r"go to sleep and (?:never|not) wake up|not wake up|never wake up|not exist|gone)",
    ),
    _rule(
        "suicide",
        r"(?:dont|do not|no longer|dont really|dont even|really dont|just dont) "
        r"(?:want|wanna|wish) (?:to )?(?:live|be alive|be here anymore|be here tomorrow|exist|"
        r"wake up|go on|continue living|be around|keep living|keep going anymore|be on this earth)",
        negatable=False,
    ),
    _rule("suicide", r"(?:dont|do not) want to be(?: here| alive)? *$", negatable=False),
    _rule(
        "suicide",
        r"(?:nobody|no one|noone|no body)(?: would| will| is going to| gonna| even| would even|"
        r" will even)* (?:miss|notice|care|cares|mourn) (?:me|if i (?:died|was gone|were gone|"
        r"disappeared|killed myself|die|left|was dead))",
        negatable=False,
    ),
    _rule(
        "suicide",
        r"(?:everyone|everybody|my (?:family|kids|wife|husband|mom|parents|partner|children)|"
        r"the world|they|world|all of you|people)(?: would| will|d| are)? (?:all )?(?:be )?"
        r"(?:better off|happier|better|fine|relieved|at peace) "
        r"(?:without me|if i (?:was|were|wasnt|werent|am) (?:dead|gone|here|around)|if i died|"
        r"when im gone|once im gone|if i killed myself)"
        r"|better off dead|better off without me",
        negatable=False,
    ),
    _rule(
        "suicide",
        r"(?<!had )(?<!was )(?:no|nothing|no reason|no point|nothing left|no purpose)"
        r"(?: left)?(?: for me)? (?:to|of|in) (?:live|living|live for|go on|going on|be alive|"
        r"being alive|keep going|stay alive|wake up for)"
        r"|(?<!had )(?<!was )no (?:point|reason) (?:living|being alive|staying alive)"
        r"(?=[^a-z0-9]*$| (?:anymore|any more|any longer)(?![a-z])|"
        r" (?:rn|right now|now|tbh|honestly)[^a-z0-9]*$)"
        r"|(?:whats|what is) the point (?:of|in) (?:living|being alive|life|going on|anything)"
        r"|life (?:isnt|is not|aint|is no longer|isnt even) worth (?:living|it)"
        r"|(?:dont|do not|cant|cannot) see (?:a|any) (?:way out|reason to live|future|point)"
        r"|(?:idk|dont know|dunno|do not know) why (?:im|i am) (?:still )?(?:here|alive)",
        negatable=False,
    ),
    _rule(
        "suicide",
        rf"(?:im|i am|i feel|feeling|i'm feeling|im feeling|been feeling|ive been|i get|"
        rf"getting|so|very|really|pretty|kinda|super|extremely|feel) {_ADV}{_SUICIDAL}"
        rf"|{_SUICIDAL} (?:rn|right now|today|tonight|again|atm)"
        rf"|{_SUICIDAL} thoughts (?:are|r|have been|keep) (?:back|bad|strong|loud|worse|winning|"
        rf"getting worse|coming back)",
    ),
    _rule(
        "suicide",
        r"(?:i keep|i cant stop|i cannot stop|cant stop|ive been|i have been|i've been|im|i am|"
        r"been|keep|constantly|always|i|seriously) (?:seriously |constantly |always |really )?"
        r"(?:thinking|think|dreaming|fantasi[sz]ing) (?:about|bout|abt|of) "
        r"(?:suicide|killing myself|ending (?:it|my life|things|it all)|dying|"
        r"taking my (?:own )?life|offing myself|not being here|hanging myself|"
        # "thinking about jumping into a new job": a jump only alone, or off, from, in front
        r"jumping(?=[^a-z0-9]*$|[,;] | (?:off|from|in front|out (?:of )?(?:a|the|my) window|"
        r"to my death|again|tonight|rn|right now|now|lately|a lot|all the time|every day)"
        r"(?![a-z]))|"
        r"overdosing|how to die|ways to die)"
        r"|(?:googling|looking up|researching|searching|reading about) (?:ways|how|the best way)"
        r" to (?:die|kill myself|end it|overdose|od|hang myself)",
    ),
    _rule(
        "suicide",
        r"(?:gun|pistol|rifle) (?:is )?(?:loaded|in my hand|next to me|in my lap|in my mouth)"
        r"|(?:have|ive got|i got|bought|just bought|got|have got|tied|made|holding) "
        r"(?:a|the|some|my) (?:rope|noose)"
        r"|(?:rope|noose) is (?:ready|tied|up)"
        r"|(?:pills|meds|tablets) (?:are |all )?"
        r"(?:lined up|in front of me|ready|counted|in my hand)"
        r"|(?:saving|saved|stockpiling|hoarding|saving up|saved up) (?:up )?"
        r"(?:my |all my |enough )?"
        r"(?:pills|meds|tablets|medication)"
        r"|(?:wrote|written|writing|write|finished) (?:my|a|the) (?:suicide note|goodbye "
        r"(?:letter|note)s?|note to my (?:kids|family|wife|husband|mom|parents)|last letters?)"
        r"|(?:have|made|got|i have) a plan (?:to|for) (?:die|end it|kill myself|my death)"
        r"|(?:(?<=have a )|(?<=got a ))plan and (?:the|a|enough|all the|all my|my) "
        r"(?:pills|rope|gun|noose|razor|blade|means)(?=[^a-z0-9]*$| (?:ready|tonight|rn|right now|"
        r"now)(?![a-z])|,? (?:im done|this is it|goodbye|its time)(?![a-z]))"
        r"|(?:(?<=have the )|(?<=got the )|(?<=have enough )|(?<=got enough ))"
        r"(?:pills|rope|gun|noose) and a plan(?=[^a-z0-9]*$| (?:ready|tonight|rn|right now|now)"
        r"(?![a-z])|,? (?:im done|this is it|goodbye|its time)(?![a-z]))"
        r"|(?:planning|planned) my (?:suicide|death|exit)",
    ),
    _rule(
        "suicide",
        r"(?:bought|got|have|loaded|holding|got out|took out) (?:a|the|my|his|dads) "
        r"(?:gun|pistol|rifle|shotgun)",
        needs_cue=True,
    ),
    _rule("suicide", r"gun (?:to|in) my (?:head|mouth)|loaded (?:a|the|my) gun"),
    _rule(
        "suicide",
        r"(?:standing|sitting|im|i am|up) (?:on|at) (?:a|the|my) (?:bridge|roof|ledge|edge|"
        r"tracks|balcony|rooftop|cliff)(?: \w+){0,8} (?:jump|jumping)",
    ),
    _rule(
        "suicide",
        r"goodbye (?:forever|cruel world|world)|this is (?:goodbye|my goodbye|the end)|"
        r"final goodbye|my last (?:goodbye|message|day alive|night alive|day on earth)|"
        r"(?:you )?wont (?:see|hear from) me (?:again|anymore)|"
        r"(?:(?<=im )|(?<=am ))not (?:gonna|going to) be alive "
        r"(?:much longer|for long|tomorrow|by morning)",
    ),
    _rule(
        "suicide",
        rf"(?:im|i am) {_ADV}done(?: with (?:life|living|everything|it all|this life|this world))?"
        r"[.!, ]+(?:\w+ ){0,3}(?:goodbye|bye) (?:everyone|all|guys|world|forever|yall|everybody)",
        whole_message=True,
    ),
    _rule(
        "suicide",
        rf"(?:im|i am) {_ADV}done (?:fighting(?! with)|trying(?! to)|living|with life|with living|"
        r"with it all|with this life|with this world)"
        r"|(?:i )?give up on (?:life|living|everything|myself)"
        r"|(?:cant|can't|cannot) (?:go on|keep going|keep living|do life)(?: \w+)? "
        r"(?:anymore|any longer|much longer)|(?:cant|cannot) go on living"
        r"|(?:cant|cannot) go on(?=[^a-z0-9]*$)"
        r"|(?:tired|sick) of (?:being alive|existing)(?! like)"
        # "tired of living paycheck to paycheck", "... in fear", "... with my parents": a way of
        # living, not life; only with nothing after it but a time or a feeling word
        r"|(?:tired|sick) of (?:living|life)(?=[^a-z0-9]*$|[,;] | (?:anymore|any more|any longer|"
        r"rn|right now|now|honestly|tbh|ngl|and (?:i|everything|want|wanna|ready))(?![a-z]))",
    ),
    _rule(
        "suicide",
        r"(?:want|wanna|need) (?:it|it all|everything|this|the pain|life|all of this) "
        r"(?:all )?(?:to|2) (?:end|be over|stop for good|stop forever|stop)(?! (?:hurting|for a))"
        r"|(?:ending|end) it (?:all|tonight|today|now|rn)(?! with)"
        r"|(?:im|i am) ending (?:it|my life|things)(?! with)"
        r"|(?:feel|feeling) like (?:ending it|ending my life|ending it all|killing myself|dying|"
        r"giving up on life|disappearing forever|not waking up)",
    ),
    _rule(
        "suicide",
        r"(?<!\d )(?<!\d)kms(?!l)",
        squeezed=True,
    ),
    _rule(
        "suicide",
        r"(?:i )?tried to (?:kill myself|end it|end my life|overdose|od|hang myself|take my life)",
        needs_cue=True,
    ),
    _rule(
        "suicide",
        r"(?:dont|do not|dont even|really dont|no longer) care if i (?:die|live|wake up|dont wake "
        r"up|od|overdose|make it|survive|live or die|drop dead)",
        negatable=False,
    ),
    # Reviewed misses: the clause's own subject, the euphemisms on their own, plans and means.
    _rule(
        "suicide",
        rf"{_SUBJ}{_ADV}deserve{_TO} {_ADV}(?:die|dye|be dead)"
        r"(?! *(?:if|unless|for (?:eating|saying|being)|of|laughing))"
        rf"|{_SUBJ}{_ADV}deserve{_TO} {_ADV}not (?:live|be alive|exist)"
        r"(?=[^a-z0-9]*$| (?:anymore|any more|any longer)[^a-z0-9]*$)",
    ),
    _rule(
        "suicide",
        rf"{_SUBJ}{_ADV}(?:dont|do not) deserve to (?:live|be alive|exist)(?! *(?:if|unless|like))",
        negatable=False,
    ),
    _rule(
        "suicide",
        # alone in its clause: "suicidal.", "sucidal rn", "sewerslide" (no optional words before
        # it: the prefilter needs the word itself at the clause start)
        rf"^ ?(?:{_SUICIDAL}|sewerslide)"
        r"(?: (?:rn|right now|today|tonight|again|atm|af|asf|thoughts again))?(?=[^a-z0-9]*$)"
        r"|(?:unalive|unaliving) my ?self",
    ),
    _rule(
        "suicide",
        r"(?:tonights|tonight is|tonites|tonite is) the night(?: that)? i "
        r"(?:(?:finally|actually) )?(?:end it|end it all|end my life)(?=[^a-z0-9]*$)",
    ),
    _rule(
        "suicide",
        # "tonight's the night i do it" is also a first share or a talk with the family
        r"(?:tonights|tonight is|tonites|tonite is) the night(?: that)? i "
        r"(?:(?:finally|actually) )?(?:do it|go through with it)(?=[^a-z0-9]*$|[,:] )",
        needs_message=_GRAVE_CUE,
    ),
    _rule(
        "suicide",
        # relapse as a way out: "gonna relapse and hopefully not wake up"
        r"(?:hopefully|with any luck|and maybe) (?:i )?(?:not|never|dont|wont|will not|do not) "
        r"(?:wake up|make it|survive)"
        r"(?=[^a-z0-9]*$| (?:tomorrow|tonight|this time|ever again)[^a-z0-9]*$)"
        r"|(?:hopefully|with any luck) (?:i )?(?:just )?(?:die|od|overdose)"
        r"(?=[^a-z0-9]*$| (?:tonight|this time|in my sleep)(?![a-z])| and)",
        negatable=False,
    ),
    _rule(
        "suicide",
        # at the edge: "i'm standing on the ledge" (not "at the bridge", which may be a place).
        # The speaker is a look-behind here and below: look-arounds give the prefilter no atoms,
        # so it gates on the rare words ("ledge") rather than on "im" or "i am".
        r"(?:(?<=standing )|(?<=sitting )|(?<=im )|(?<=am )|(?<=climbed )|(?<=climbing )|"
        r"(?<=out ))(?:on|onto|out on) (?:a|the|my|this) "
        r"(?:ledge|edge of (?:the|a|this) (?:roof|bridge|building|cliff|balcony))"
        rf"{_AT_THE_EDGE_END}"
        r"|(?:(?<=standing )|(?<=sitting )|(?<=im )|(?<=am )|(?<=climbed )|(?<=climbing )|"
        r"(?<=out ))(?:on|onto|out on) (?:a|the|my|this) window ledge"
        r"(?= (?:and |about to |ready to |going to |gonna |want to |wanna )?(?:jump|let go)|"
        r" looking down)"
        r"|(?:on|climbed|climbing) (?:over )?(?:the )?(?:wrong|other|outside) side of the "
        rf"(?:railing|barrier){_AT_THE_EDGE_END}",
    ),
    _rule(
        "suicide",
        # giving possessions away, with nothing after it that explains it (a move, a clear-out)
        r"(?:(?<=im )|(?<=am )|(?<=been )|(?<=started ))(?<!so im )(?<!so i am )"
        r"giving away (?:all )?(?:of )?my "
        r"(?:things|stuff|belongings|possessions|pets|dog|cat)"
        r"(?=[^a-z0-9]*$| (?:because|cause|cuz|since|as) i (?:wont|will not|dont|do not) need)",
        unless_message=_GIVING_AWAY_WHY,
    ),
    # --- self-harm -------------------------------------------------------------------------------
    _rule(
        "self_harm",
        rf"(?:{_SUBJ}{_ADV}(?:{_WANT}|{_FUTURE}){_TO}|{_I_FUTURE}) {_ADV}"
        r"(?:cut|hurt|harm|burn|cut up|scratch) "
        r"(?:myself|my ?self|my (?:arms?|wrists?|legs?|thighs?|skin))"
        rf"|(?:{_SUBJ}{_ADV}(?:{_WANT}|{_FUTURE}){_TO}|{_I_FUTURE}) {_ADV}"
        r"(?:cut|self harm|selfharm|sh)"
        r"(?= *(?:$|[,.!?]|again|tonight|so bad|rn|right now|now|badly))",
    ),
    _rule(
        "self_harm",
        r"(?:i|i just|just) (?:cut|hurt|burned|burnt|harmed|scratched|sliced) (?:myself|my ?self|"
        r"my (?:arms?|wrists?|legs?|thighs?|skin|stomach))",
        needs_cue=True,
    ),
    _rule("self_harm", r"(?:cut|slit|slashed|sliced) (?:my|both) wrists"),
    _rule(
        "self_harm",
        r"(?:im|i am|i keep|been|ive been|i've been) (?:(?!not |never |no )\w+ )?"
        r"(?:cutting|harming|hurting|burning|"
        r"scratching) (?:myself|my ?self|again)"
        r"|(?:cutting|self harming|selfharming|self harm|sh) again"
        r"|(?:relapsed|slipped) (?:on|with|into|back into) (?:cutting|self harm|selfharm|sh|"
        r"self harming)"
        r"|(?:urge|urges|need|craving|cravings) to (?:cut|self harm|selfharm|hurt myself|sh) "
        r"(?:is|are|r) (?:so |really |too |very )?(?:strong|bad|loud|intense|much)"
        r"|(?:wont|will not|cant|cannot|can't) stop (?:the )?bleeding",
    ),
    _rule(
        "self_harm",
        # "i feel like hurting myself", "i feel like cutting" (not "cutting back", "cutting carbs")
        r"(?:(?<=feel like )|(?<=feeling like ))(?:hurting|cutting|harming|burning|scratching) "
        r"(?:myself|my (?:arms?|wrists?|legs?|thighs?|skin))"
        r"|(?:(?<=feel like )|(?<=feeling like ))(?:cutting|self harming|selfharming|sh)"
        r"(?=[^a-z0-9]*$| (?:again|tonight|so bad|rn|right now|now)(?![a-z]))"
        # "i'm cutting" with nothing after it but a time: "i'm cutting rn"
        r"|(?:(?<=im )|(?<=am )|(?<=been ))(?:(?:still|literally|actually|really|currently) )?"
        r"cutting(?=[^a-z0-9]*$| (?:rn|right now|tonight|now|as we speak)[^a-z0-9]*$)",
    ),
    _rule(
        "self_harm",
        r"(?:knife|blade|razor|razor blade)s? (?:is|s|are|r) (?:already )?"
        r"(?:against|on) my (?:wrist|arm|throat)s?"
        r"|(?:holding|pressing|put|got) (?:a|the|my) (?:knife|blade|razor|razor blade) "
        r"(?:to|against|on) my (?:wrist|arm|throat)s?",
    ),
    _rule(
        "self_harm",
        # in a hand or on the skin or a leg: cooking and shaving, unless the urge is named
        r"(?:knife|blade|razor|razor blade)s? (?:is|s|are|r) (?:already )?(?:in my hand|"
        r"(?:against|on) my (?:skin|leg|thigh)s?)"
        r"|(?:holding|pressing|put|got) (?:a|the|my) (?:knife|blade|razor|razor blade) "
        r"(?:to|against|on) my (?:skin|leg|thigh)s?",
        needs_message=_HARM_CUE,
    ),
    # --- overdose --------------------------------------------------------------------------------
    _rule(
        "overdose",
        rf"(?:took|swallowed|downed|ate|popped|shot|shot up|snorted|injected|used|mixed) "
        rf"{_ADV}{_QUANT}(?: of)?(?: my| the| his| her| those| these| our)? "
        rf"{_DRUG}"
        # "stuff" is a drug only after a verb for using one ("my ex took all my stuff")
        rf"|(?:swallowed|downed|popped|shot|shot up|snorted|injected) "
        rf"{_ADV}{_QUANT}(?: of)?(?: my| the| his| her| those| these| our)? stuff"
        r"|(?:took|swallowed|downed|popped|shot up|snorted|injected) (?:every pill|the rest of "
        r"(?:my|the|his|her) (?:pills?|tablets?|meds|medications?|prescription|script|bottle|"
        r"xanax|xans|bars|oxys?|percs?|fent|fentanyl|heroin|dope|stash|supply|bag|benzos?))"
        # "i took everything (i had)", not "took everything in", "everything my sponsor said"
        r"|(?:^ ?|(?:i|just|then|and) )(?:took|swallowed|downed|popped|shot up|"
        r"snorted|injected) everything(?: i had| i have| i had left| left| in the (?:house|"
        r"cabinet|medicine cabinet)| from the (?:medicine cabinet|cabinet))?"
        r"(?=[^a-z0-9]*$| (?:and|tonight|rn|right now|now|at once)(?![a-z]))"
        r"|ate (?:every pill|the rest of (?:my|the) (?:pills|meds|tablets))"
        r"|(?:mixed|mixing|took|taking|on) (?:\w+ ){0,2}(?:xanax|xans|bars|benzos?|klonopin|"
        r"valium|pills|oxys?|percs?|fent|heroin|dope|methadone) (?:and|with|plus) (?:\w+ ){0,2}"
        r"(?:alcohol|booze|vodka|drinking|drank|beer|wine|whiskey|xanax|benzos?|fent|heroin|"
        r"dope|oxys?|percs?)(?= .{0,40}(?:weird|strange|dizzy|numb|cant|scared|help|breath|dying|"
        r"gonna die|going to die|about to die|passing out|pass out))"
        r"|(?:took|swallowed|downed|popped|shot|shot up|snorted|injected)"
        r" (?:way |just |probably )?(?:too much|too many|more than (?:usual|normal|i should|i "
        r"usually do)|way more than (?:usual|normal|i should|i usually do))"
        r"(?= *(?:$|[,.!?]|and|i think|tonight|today|rn|again))",
    ),
    _rule(
        "overdose",
        r"(?:i think |i feel like |pretty sure |i might have |maybe )(?:i|im|i am|i'm|i've|ive) "
        r"(?:just )?(?:overdosed|overdosing|oding|od|odd|oded|overdid it|took too much|"
        r"having an overdose|od ing)"
        r"|(?:im|i am) (?:overdosing|oding|having an overdose|od ing)",
        past_sensitive=True,
    ),
    _rule("overdose", r"(?:i|i just) (?:overdosed|odd|oded)", needs_cue=True),
    _rule(
        "overdose",
        # "my fingers are turning blue, it's freezing out": a body part is not someone else (the
        # speaker's own blue lips need a cue, below)
        r"(?!my (?:fingers?|toes?|hands?|feet|foot|lips?|face|nose|ears?|nails?|skin|legs?|arms?|"
        r"cheeks?|fingertips?)(?![a-z]))"
        rf"{_THIRD}(?: is| s| are| re| has| just)? (?:overdosing|oding|od ing|not breathing|"
        r"isnt breathing|stopped breathing|turning blue|turned blue|going blue|unresponsive|"
        r"not responding|wont wake up|not waking up|isnt waking up|not moving|isnt moving|"
        r"cant wake (?:him|her|them) up|foaming at the mouth)"
        r"|(?:cant|cannot|can't) wake (?:him|her|them|my \w+) up"
        r"|(?:need|get|where is|wheres|somebody get|someone get|bring|give (?:him|her) the|"
        r"dont have|dont have any|(?<!was )(?<!were )no) (?:some |the |any )?(?:narcan|naloxone)"
        # "we need narcan training", "no narcan at the pharmacy": supplies, not an emergency
        r"(?! (?:training|trainings|kits?|class|classes|course|courses|workshops?|sessions?|"
        r"programs?|box|boxes|vending|dispensers?|in stock|available|on hand|on site|"
        r"at (?:the |a |any |every |all |our )?(?:pharmacy|pharmacies|drugstore|store|clinic|cvs|"
        r"walgreens|meetings?|groups?|home group|church)|for (?:the|our|every|all) (?:groups?|"
        r"meetings?|rooms?|members))(?![a-z]))",
    ),
    _rule(
        "overdose",
        r"(?:cant|cannot|can't|hard to|struggling to|barely) (?:breathe|feel my (?:legs|arms|body|"
        r"face|hands)|stay awake|keep my eyes open)"
        r"|my (?:heart|chest) (?:is |keeps )?(?:racing|pounding|hurts|stopping|stopped|"
        r"wont slow down|feels weird)"
        r"|lips (?:are |r )?(?:blue|turning blue)",
        needs_cue=True,
    ),
    _rule(
        "overdose",
        # "i just did way too much fentanyl": with a drug named, and only when it is happening
        rf"(?:did|used|took|smoked|snorted|shot|shot up|injected|swallowed|popped) "
        r"(?:way |just |probably |definitely )?(?:too much|too many|way too much|way too many|"
        r"more than (?:usual|normal|i should)) (?:of )?(?:my |the |that |this )?"
        rf"{_DRUG_NAME}",
        needs_cue=True,
        joke_after=True,
    ),
    _rule(
        "overdose",
        # "i'm shooting the whole bag tonight"
        r"(?:im|i am|^ ?)(?: (?:just|about to|gonna|going to))? ?"
        r"(?:shooting|shooting up|snorting|injecting|slamming) (?:up )?(?:the whole|the entire|"
        r"the rest of|all of|every single|all|every)(?: (?:my|the|this|that))?(?: \w+)? "
        r"(?:bag|bags|bundle|stash|supply|gram|grams|fent|fentanyl|heroin|dope)",
    ),
    _rule(
        "overdose",
        # "i'm turning blue" is also the cold or a charity: only with a drug or a failing body
        r"(?:(?:im|i am)|my (?:lips|fingers|face) (?:are|is|r)) (?:turning|going) blue"
        r"(?! (?:in the face|from|with|because|cause|for|lol|haha))",
        needs_message=_OVERDOSE_CUE,
        joke_after=True,
    ),
    # --- immediate danger -----------------------------------------------------------------------
    _rule(
        "danger",
        rf"{_THIRD} (?:is |s |are |re |keeps |keep |just |been |has been |started |wont stop )?"
        r"(?:hitting|beating|punching|choking|"
        r"strangling|hurting|attacking|kicking|stabbing|raping|threatening|following|stalking|"
        r"chasing|grabbing|dragging) (?:me|us|my kids|my (?:son|daughter|baby))"
        r"(?! on| online| back| up)",
    ),
    _rule(
        "danger",
        rf"{_THIRD}(?: s| is| are| re| has| have| got| just)?(?: \w+){{0,4}}?"
        r"(?: has| got| is holding| pulled| grabbed| s got)? (?:got )?(?:a (?:knife|gun|weapon|"
        r"bat)|a gun to my head|broke in|breaking in|trying to (?:break|get) in(?:to)?|outside my "
        r"(?:door|house|window|room|apartment)|banging on (?:my|the) door|locked me in)",
    ),
    _rule(
        "danger",
        rf"{_THIRD}(?: s| is| are| re)? (?:going to|gonna|gona|will|ll|is gonna) "
        r"(?:kill|hurt|beat|shoot|stab|rape) (?:me|us|my kids)"
        r"(?! *(?:if|when|for|lol|haha|lmao|jk|because|cause))",
    ),
    _rule(
        "danger",
        rf"{_THIRD} (?:said|says|told me|threatened|is threatening|keeps saying|threatening|"
        r"yelling|screaming|shouting|saying|is saying|is yelling|is screaming)(?: that)?"
        r"(?: (?:he|she|they)(?:s| is| was| would| will|ll|d)?)?(?: going to| gonna| to)? "
        r"(?:kill|hurt|beat|shoot|stab) (?:me|us|my kids)"
        r"|(?:scared|afraid|terrified|worried)(?: that)? (?:he|she|they|hes|shes|theyre|my \w+)"
        r"(?:ll| will| is going to| s going to| s gonna| might| could| would| is gonna| gonna)? "
        r"(?:kill|hurt|beat|find|shoot) me",
    ),
    _rule(
        "danger",
        r"(?:im|i am|i feel|i'm|feel|feeling) (?:so |really |very )?(?:not safe|unsafe|"
        # "in danger of relapsing" is a risk, "in danger of being killed" a danger
        r"in danger(?! of (?!(?:being|getting) (?:killed|hurt|attacked|beaten|shot|stabbed|raped)"
        r"|dying|my life))|"
        r"scared for my life|afraid for my life|terrified for my life|being abused|trapped here)"
        r"|(?:dont|do not|dont really) feel safe"
        r"(?: at home| here| with (?:him|her|them)| right now)?"
        r"|(?:im |i am )?hiding (?:from (?:him|her|them|my \w+)|in the (?:bathroom|closet|car|"
        r"basement))"
        r"|(?:im|i am) being (?:followed|stalked|attacked|hurt|abused|beaten|threatened|choked)",
        negatable=False,
    ),
    _rule(
        "danger",
        rf"{_THIRD} (?:just )?(?:hit|beat|choked|strangled|attacked|raped|punched|stabbed|kicked)"
        r" me",
        needs_cue=True,
    ),
    _rule(
        "danger",
        r"(?:somebody|someone|pls|please|can someone|can somebody|could someone|help|i need "
        r"(?:you|someone) to) call "
        r"(?:911|999|112|000|an ambulance|the police|the cops|for help)(?! *if)",
    ),
    _rule(
        "danger",
        r"(?:im|i am|i'm) (?:going to|gonna|about to|ready to) (?:kill|hurt|stab|shoot) "
        rf"(?:him|her|them|someone|somebody|everyone|my {_OTHERS})"
        r"(?! *(?:lol|haha|lmao|jk|if))",
    ),
)

# Sentences, "but" clauses, and a fresh clause where the story jumps to the present
# ("back in 2017 I took all my pills, now I'm five years sober").
_CLAUSES = re.compile(
    r"[.!?;]+|,? but |,? though |,? however |\s-\s"
    r"|(?:,| and|, and) (?=(?:now|today|these days|nowadays) )"
)
_NEGATION = re.compile(
    fold_pattern(
        r"(?<![a-z])(?:not|never|dont|doesnt|didnt|wont|isnt|arent|aint|no|nor|without|hardly|"
        r"wouldnt|shouldnt|no longer|stop|stopped|quit)(?![a-z])"
    )
)
_CONDITIONAL = re.compile(
    r"(?<![a-z])(?:if|when|whenever|in case|unless|what if|even if)(?: (?:i|you|u|we|someone|"
    r"somebody|they|he|she|ever|i ever|you ever))*\s*$"
)
_PAST = re.compile(
    fold_pattern(
        r"(?<![a-z])(?:used to|years? ago|months? ago|weeks? ago|back (?:then|in|when)|"
        r"in (?:19|20)\d\d|last (?:year|month|summer|winter|spring|fall|autumn|christmas|decade)|"
        r"when i was (?:using|drinking|active|a kid|a teen|younger|young|\d+|in (?:my|active|"
        r"high|college|school))|before i (?:got|was|became) (?:sober|clean)|"
        r"in my (?:active )?(?:addiction|drinking|using)|at my (?:lowest|worst|bottom)|"
        r"at the time|in those days|once upon|in the past|as a (?:kid|teen|teenager|child)|"
        r"growing up|in high school|in college|woke up in (?:the )?(?:icu|hospital|er|ambulance|"
        r"psych ward)|ended up in|survived|i was \d+|my first (?:year|time)|when i first|"
        r"that (?:night|day|year|summer|winter)|haven't since|havent since|"
        r"before(?= *(?:$|[,.!?]|and|but|too|so))|"
        r"every (?:night|day|morning|evening|weekend|single day)|for years|"
        r"(?:\d+|two|three|four|five|six|ten) (?:years|months) (?:sober|clean))(?![a-z])"
    )
)
_PRESENT = re.compile(
    fold_pattern(
        r"(?<![a-z])(?:right now|rn|tonight|tonite|2night|today|(?<!not )(?<!no )now|again|"
        r"anymore|this time|"
        r"still|tomorrow|this morning|just now|at the moment|atm|currently|these days|lately|"
        r"this week|last night|yesterday|earlier|an hour ago|minutes ago|hours ago|days ago|"
        r"this evening|this afternoon)(?![a-z])"
    )
)
# Cues that make an ambiguous statement urgent (a rule with needs_cue), beyond time words.
# "if you are thinking about suicide, call 988": someone else's thoughts, not the sender's.
_OTHER_SUBJECT = re.compile(
    r"(?<![a-z])(?:you|u|youre|ur|he|she|they|hes|shes|theyre|someone|somebody|people|anyone|"
    r"everyone)(?: (?:are|is|re|were|was|ever|keep|keeps|start|starts|been|have been|has been))*"
    r"\s*$"
)
_IF = re.compile(r"(?<![a-z])(?:if|unless|or else|otherwise)(?![a-z])")
_RECENT = re.compile(
    fold_pattern(
        r"(?<![a-z])(?:just|help|please|pls|plz|911|scared|blood|bleeding|"
        r"feel (?:so |really )?(?:weird|strange|dizzy|numb|sick|off)|cant breathe|"
        r"after (?:using|i used|smoking|i smoked|shooting up|i shot up|drinking|taking))(?![a-z])"
    )
)
_PAST_COGNITION = re.compile(
    fold_pattern(
        r"(?<![a-z])(?:thought|felt|believed|figured|was sure|was convinced|told myself|knew|"
        r"remember|remembered|used to think|used to feel|would think|wrote that)(?![a-z])"
        r"(?:(?: [a-z]+){0,3})\s*$"
    )
)


# How far before a match the look-back checks (negation, condition, someone else, a past
# cognition verb) read: each is a few words, and reading the clause from its start at every
# match would make a long clause with many matches cost quadratic time.
_LOOK_BACK = 120


def _words_before(text: str, start: int, n: int) -> str:
    low = max(0, start - _LOOK_BACK)
    words = text[low:start].split()
    if low and words and not text[low - 1].isspace() and not text[low].isspace():
        words = words[1:]  # cut off by the window
    return " ".join(words[-n:])


class _Clause:
    """A clause and what in it cancels matches, each found once however many matches it has."""

    __slots__ = ("_if", "_joke", "_past", "_present", "_recent", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._present: bool | None = None
        self._recent: bool | None = None
        self._past: bool | None = None
        self._if: bool | None = None
        self._joke: int | None = None

    @property
    def present(self) -> bool:
        if self._present is None:
            self._present = _PRESENT.search(self.text) is not None
        return self._present

    @property
    def recent(self) -> bool:
        if self._recent is None:
            self._recent = _RECENT.search(self.text) is not None
        return self._recent

    @property
    def past(self) -> bool:
        if self._past is None:
            self._past = _PAST.search(self.text) is not None
        return self._past

    @property
    def has_if(self) -> bool:
        if self._if is None:
            self._if = _IF.search(self.text) is not None
        return self._if

    @property
    def last_joke(self) -> int:
        """Where the last "lol"/"haha"/"jk" in the clause starts, or -1."""
        if self._joke is None:
            self._joke = -1
            for m in _JOKE.finditer(self.text):
                self._joke = m.start()
        return self._joke


def _cancelled(rule: Rule, clause: _Clause, start: int, end: int) -> bool:
    # What the clause holds first (known after the first match), then the few words before.
    if rule.needs_cue and not (clause.present or clause.recent):
        return True
    if rule.past_sensitive and not clause.present and clause.past:
        return True
    if rule.conditional_clause and clause.has_if:
        return True
    if rule.joke_after and clause.last_joke >= end:
        return True
    text = clause.text
    low = max(0, start - _LOOK_BACK)
    if rule.kind in ("suicide", "self_harm") and _OTHER_SUBJECT.search(text, low, start):
        return True
    if rule.negatable and _NEGATION.search(_words_before(text, start, 3)):
        return True
    if _CONDITIONAL.search(text, low, start):
        return True
    return _PAST_COGNITION.search(text, low, start) is not None


# Every rule is prefiltered: a rule runs only when the literal strings its matches need occur.
_GATES = tuple(MATCHING.add(rule.pattern) for rule in RULES)
_FIRST_GATE = _GATES[0].bit_length() - 1
_ALL_GATES = sum(_GATES)
assert ((1 << len(RULES)) - 1) << _FIRST_GATE == _ALL_GATES  # registered in a row, in order


# The same splits on text whose only whitespace is " " (a matching form): at any position at
# most one alternative of _CLAUSES matches, so they can be regrouped by first character; with
# a literal first in each, the regex engine jumps between candidate characters.
_NOW = r"(?=(?:now|today|these days|nowadays) )"
_CLAUSES_FAST = re.compile(
    r"\.[.!?;]*|![.!?;]*|\?[.!?;]*|;[.!?;]*"
    r"|,(?: (?:but|though|however) | " + _NOW + r"| and " + _NOW + r")"
    r"| (?:(?:but|though|however) |and " + _NOW + r"|- )"
)
_OTHER_SPACE = re.compile(r"[^\S ]")


def _split_clauses(text: str) -> list[str]:
    splitter = _CLAUSES if _OTHER_SPACE.search(text) else _CLAUSES_FAST
    return [c.strip() for c in splitter.split(text) if c.strip()]


def _clause_spans(text: str) -> list[tuple[int, int]]:
    """Where the clauses of ``_split_clauses(text)`` are in ``text``, in order."""
    splitter = _CLAUSES if _OTHER_SPACE.search(text) else _CLAUSES_FAST
    spans = []
    start = 0
    for m in [*splitter.finditer(text), None]:
        end = len(text) if m is None else m.start()
        piece = text[start:end]
        stripped = piece.strip()
        if stripped:
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + lead + len(stripped)))
        if m is not None:
            start = m.end()
    return spans


_MANY_CLAUSES = 3  # above: prefilter each clause on its own
_SQUEEZED_GATES = sum(gate for rule, gate in zip(RULES, _GATES, strict=True) if rule.squeezed)


def detect(matching: str, squeezed: str = "", admitted: int | None = None) -> CrisisKind | None:
    """The crisis kind in a matching-form text, or None. Pure; see the module docstring.

    ``admitted``: the ``scans.MATCHING`` mask of ``matching`` and ``squeezed`` when known.
    """
    if admitted is None:
        texts = (matching, squeezed) if squeezed and squeezed != matching else (matching,)
        admitted = MATCHING.admitted(*texts)
    todo = admitted & _ALL_GATES
    if not todo:
        return None
    clauses: list[str] | None = None
    squeezed_clauses: list[str] = []
    # In a long message (many clauses), each clause's own prefilter mask (from one scan): a
    # rule runs on the clauses holding everything it needs (rules run clause by clause, on the
    # clause alone); a long message has dozens, and most admitted rules fit none of them.
    per_clause: list[int] | None = None
    per_squeezed: list[int] = []
    # Message-wide cues and explanations, and each clause's own cancelling words, found once.
    in_message: dict[re.Pattern[str], bool] = {}
    facts: dict[str, _Clause] = {}
    while todo:  # the admitted rules, in order
        low = todo & -todo
        todo ^= low
        rule = RULES[low.bit_length() - 1 - _FIRST_GATE]
        if rule.needs_message is not None and not _in_message(
            rule.needs_message, matching, in_message
        ):
            continue
        if rule.unless_message is not None and _in_message(
            rule.unless_message, matching, in_message
        ):
            continue
        if rule.whole_message:
            if rule.pattern.search(matching):
                return rule.kind
            continue
        if clauses is None:
            clauses = _split_clauses(matching)
            if squeezed and squeezed != matching:
                squeezed_clauses = _split_clauses(squeezed)
            if len(clauses) > _MANY_CLAUSES:
                per_clause = MATCHING.admitted_in(matching, _clause_spans(matching))
                if squeezed_clauses and admitted & _SQUEEZED_GATES:
                    per_squeezed = MATCHING.admitted_in(squeezed, _clause_spans(squeezed))
        sources = clauses
        if per_clause is not None:
            sources = [c for c, mask in zip(clauses, per_clause, strict=True) if mask & low]
        if rule.squeezed and squeezed_clauses:
            masks = per_squeezed or [-1] * len(squeezed_clauses)
            sources = sources + [c for c, m in zip(squeezed_clauses, masks, strict=True) if m & low]
        for clause in sources:
            matches = rule.pattern.finditer(clause)
            m = next(matches, None)
            if m is None:
                continue
            known = facts.get(clause)
            if known is None:
                known = facts[clause] = _Clause(clause)
            while m is not None:
                if not _cancelled(rule, known, m.start(), m.end()):
                    return rule.kind
                m = next(matches, None)
    return None


def _in_message(
    pattern: re.Pattern[str], matching: str, found: dict[re.Pattern[str], bool]
) -> bool:
    if pattern not in found:
        found[pattern] = pattern.search(matching) is not None
    return found[pattern]


class CrisisStage:
    name = "crisis"

    def check(self, msg: Message, ctx: ScreenContext) -> StageResult | None:
        kind = detect(msg.matching, msg.squeezed, msg.matching_admitted())
        if kind is None:
            return None
        return StageResult("crisis", "allow", (f"crisis.{kind}",), crisis_kind=kind)


_LEADING_CONDITION = re.compile(r"^(?:if|when|whenever|in case|unless|what if|even if)(?![a-z])")
# The sender's own past: what they thought, wanted or tried then ("I wanted to die", "I tried
# to end it", "I felt like a burden"); with no present cue, a story.
_TOLD_PAST = re.compile(
    fold_pattern(
        r"(?<![a-z])(?:i|we) (?:(?:really|just|almost|nearly|once|even|honestly) )?"
        r"(?:thought|felt|believed|figured|was sure|was convinced|told myself|wanted|tried|"
        r"attempted|was going|was planning|planned|wished|was ready|was suicidal|used to)(?![a-z])"
    )
)


# Present cues that keep a message urgent even beside a story ("I used to cut, now I'm cutting
# again"); "today" and "now" alone do not ("five years ago I wanted to end it, today I'm here").
_URGENT = re.compile(
    fold_pattern(
        r"(?<![a-z])(?:right now|rn|tonight|tonite|2night|again|anymore|this time|still|"
        r"just now|at the moment|atm|currently|tomorrow|this weekend|after this meeting)(?![a-z])"
    )
)


def told_as_past_or_hypothetical(matching: str) -> bool:
    """True when a message reads as a story or a condition rather than the sender's present.

    The tense and condition guard of these rules, for the semantic screen (which has no
    pattern to anchor on): some clause tells the past without a present cue in it (a
    past-time marker, "last year", "used to", "at my lowest"; or the sender's own past wish,
    thought or attempt, "I wanted to die", "I thought everyone would be better off") and no
    clause carries an urgent cue ("tonight", "right now", "again", ...); or every clause
    opens with a condition ("if you ever want to die, call 988"). ``matching``: a matching
    form.
    """
    clauses = _split_clauses(matching)
    if not clauses:
        return False
    if all(_LEADING_CONDITION.match(clause) for clause in clauses):
        return True
    if _URGENT.search(matching):
        return False
    return any(
        (_PAST.search(clause) or _TOLD_PAST.search(clause)) and not _PRESENT.search(clause)
        for clause in clauses
    )
