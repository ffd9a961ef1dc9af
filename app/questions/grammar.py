"""The hand-written part of the engine's lexicon: English function words, the shapes of BI
questions (top N, by X, vs, share of, growth...), and the patterns that mark requests the
engine must decline (writes, prompt injection, private data). Everything else it knows comes
from the semantic model and the shop's values (``app.questions.lexicon``).

Patterns are regular expressions over a question's *lemma text* (``Sentence.text``: words
case-folded and singular, numbers as digits, amounts as ``$40``), matched on word bounds.
"""

from __future__ import annotations


def words(text: str) -> frozenset[str]:
    """A set of words written as one string (data, not code)."""
    return frozenset(text.split())


# Words that carry no content of their own: articles, pronouns, auxiliaries, prepositions,
# conjunctions, question words, politeness and generic verbs. They never block an answer.
FUNCTION_WORDS = words(
    """
    a an the this that these those it its it's they them their there here what what's which
    who whom whose how when where why we we've we're we'd our ours us you your yours i i'm me
    my mine he she his her him is are was were be been being am do does did done doing have
    has had having will would shall should can could may might must of in on at to from for
    with into onto about as by per via and or but so if then than also too both either
    each every all any some such own just only please thanks thank kindly now currently
    right exactly overall altogether whole entire ever again still yet very really quite
    much many more most less least lot lots up out off over get got getting give gave given
    show showing shown tell told list listing display see know let let's like want wanted
    need make made bring brought come came go went look looking find found take took use
    used run running report reporting provide across among amongst within throughout during
    since until till while whether number figure figures data stats statistic statistics
    info information value values amount amounts total totals sum overview summary breakdown
    result results answer numbers count counting counted one ones other others thing things
    kind kinds sort type types level levels far date time period periods actually currently
    basically approximately roughly around about exact precise precisely again please okay
    ok hey well yes no-one everyone everything anything something someone somebody anyone
    receive received receiving generate generated generating earn earned earning contribute
    contributed contributes contributing perform performed performing happen happened do
    doing distinct unique appear appears appeared feature featured included involved part
    currently today's recently like please thanks tell hi hello whats through created
    sell sells selling sold seller bought buy buys buying purchased purchasing shopped ordered
    """
)
# Words that change what is asked: they must be understood by a construct, or the engine
# declines (a negation or a condition read past gives a confident wrong answer).
NEGATIONS = words(
    "not never no none nothing without except excluding exclude excluded neither nor "
    "don't doesn't didn't haven't hasn't hadn't isn't aren't wasn't weren't won't can't "
    "cannot couldn't shouldn't wouldn't non"
)
CONDITIONS = words(
    "least most more less fewer greater above below over under between exceed exceeding "
    "exceeds than same different other another else first last ratio average mean "
    "median per each twice double half percentile cumulative running rank ranked"
)
# Shapes
DESCENDING = words(
    "top best biggest largest highest most greatest strongest leading busiest popular bestselling"
)
ASCENDING = words("bottom worst smallest lowest least fewest weakest quietest")
SUPERLATIVE_PATTERN = r"(?:top|bottom|best|worst|biggest|largest|highest|lowest|smallest|most|least|fewest|greatest|weakest|strongest|leading|busiest)"
GROUP_MARKERS = (
    r"(?:broken down|break(?:ing)?(?: it| that| this| them)? down|split(?:ting)?(?: it| that)?"
    r"(?: up)?|grouped|group(?:ing)?(?: it| that)?|breakdown|segmented|sliced|divided) by",
    r"for (?:each|every)(?: single)?",
    r"(?:in|within|across|of) (?:each|every)",
    r"each",
    r"every",
    r"by",
    r"per",
)
COMPARE_MARKERS = r"(?:vs\.?|versus|compared (?:to|with)|compare(?:d)?|against|relative to)"
SHARE_PATTERN = (
    r"(?:what |which )?(?:share|percentage|percent|proportion|fraction|%)(?: of)?"
    r"|how (?:is|are|was|were|do|does|did) \w+(?: \w+)? (?:split|distributed|divided)"
)
GROWTH_WORDS = words(
    "growth grow grew grown growing change changed changes increase increased increasing "
    "decrease decreased decreasing rise rose risen fall fell fallen drop dropped dropping "
    "trend trending evolve evolved evolution development improve improved declined "
    "decline"
)
CHART_PATTERN = (
    r"(?:as |in |on )?(?:a )?(?:bar |line |pie |area )?(?:chart|graph|plot|visuali[sz]e|"
    r"visuali[sz]ation|diagram)"
)
CHART_KINDS = {"bar": "bar", "line": "line", "pie": "pie", "area": "area"}
DECIMALS_PATTERN = (
    r"(?:round(?:ed)? )?(?:to|with|at) (\d+) (?:decimal(?: place)?s?|dp|digit)"
    r"(?: after the (?:point|comma))?|round(?:ed)? to (?:the )?(?:nearest )?(?:whole number|"
    r"integer|unit)"
)
ORDER_PATTERNS = {
    r"(?:oldest|earliest) (?:\w+ )?first|in (?:chronological|date) order|chronologically": False,
    r"(?:newest|latest|most recent) (?:\w+ )?first|in reverse (?:chronological )?order": True,
}
# Phrases that restate what the metrics already count: consumed, never blocking.
NO_OP_PATTERNS = (
    r"(?:that|which|who)(?: have| has| had)? (?:sold|bought|ordered|purchased|been sold|"
    r"been ordered) at least (?:once|1(?: time)?)",
    r"with at least (?:one|1) (?:sale|order|purchase)",
    r"(?:in|of) (?:all|any) (?:our |the )?(?:data|shop|store|history)",
    r"so far",
    r"to date",
    r"in total",
    r"all together|altogether|overall",
    r"right now|at the moment|currently|as of (?:now|today)",
)
# Status words used as verbs ("paid by card", "shipped to Germany"): not a status filter.
VERB_NOT_STATUS = r"(?:was |were |is |are |been |get |got )?(?:paid|settled) (?:by|with|via|using|through)|(?:shipped|delivered|sent) to"
# The counted entity as the subject or object of the question ("customers in the VIP
# segment", "products of each category"): context, not a metric or a grouping.
EXISTENCE_PATTERN = (
    r"(?:are there|is there|do we have|have we got|we have|exist|are on file|on record)"
)
ANY_STATUS_PATTERN = (
    r"(?:of |with |in |at )?(?:any|every|all|whatever(?: their| the)?|regardless of(?: their| "
    r"the)?|irrespective of(?: their| the)?) (?:order )?status(?:es)?|(?:any|all) status(?:es)?"
    r"|including (?:cancelled|canceled|pending|refunded)(?: (?:and|or) (?:cancelled|canceled|"
    r"pending|refunded))*(?: one| order)?"
)
# Bundles ("bought together" rules)
BUNDLE_PATTERN = (
    r"(?:frequently |often |usually |commonly )?(?:bought|purchased|ordered|sold|buy|go|"
    r"goes|going|shopped) together|bundle(?: rule)?|association rule|cross sell(?:ing)?|"
    r"(?:also|usually) (?:buy|bought|purchase|order)|basket (?:pair|rule)|market basket|"
    r"(?:goes|go) (?:well )?with|pairs? well"
)
BUNDLE_MEASURES = {"lift": "lift", "confidence": "confidence", "support": "support"}
BUNDLE_SIDES = r"(?:on )?(?:either|both|any) side(?:s)?|(?:as )?(?:antecedent|consequent)s?"
# Product search
SEARCH_PATTERN = (
    r"(?:find|search|look(?:ing)? for|recommend|suggest(?:ion)?|gift|present|shop(?:ping)? "
    r"for|do we (?:sell|stock|carry|have (?:a|an|any))|is there (?:a|an|any)|are there any|"
    r"have you got|something|anything|what (?:could|can|should) i (?:buy|get|give)|"
    r"i (?:need|want|am looking)|i'm looking|show me (?:a|an|some|our)?)"
)
PRICE_PATTERNS = {
    # (pattern, bounds) with groups captured as amounts
    r"between \$?(\d+(?:\.\d+)?) (?:and|to|-) \$?(\d+(?:\.\d+)?)": "range",
    r"from \$?(\d+(?:\.\d+)?) to \$?(\d+(?:\.\d+)?)": "range",
    r"\$(\d+(?:\.\d+)?) (?:-|to) \$(\d+(?:\.\d+)?)": "range",
    r"(?:under|below|less than|cheaper than|at most|no more than|up to|not more than|max(?:imum)?|"
    r"within|lower than|max of|for) \$(\d+(?:\.\d+)?)": "max",
    r"(?:under|below|less than|at most|no more than|up to) (\d+(?:\.\d+)?)(?: dollar| euro| "
    r"pound| buck)?": "max",
    r"(?:over|above|more than|at least|no less than|from|min(?:imum)?|higher than) "
    r"\$(\d+(?:\.\d+)?)": "min",
}
IN_STOCK_PATTERN = r"(?:in stock|available|on hand|ready to ship|we (?:still )?have)"
# Requests the engine declines without running anything
WRITE_VERBS = sorted(
    words(
        "delete drop remove update insert alter truncate grant revoke modify edit change set "
        "create add erase wipe overwrite rename replace reset cancel refund destroy purge"
    )
)
WRITE_PATTERN = (
    r"^(?:(?:please|now|ok|okay|just|can you|could you|would you|you must|you should|go "
    r"ahead and|i want you to|i need you to)[ ,]+)*(?:" + "|".join(WRITE_VERBS) + r")\b"
    r"|\b(?:drop|alter|truncate) (?:table|database|schema|index)|\bdelete from\b|\binsert "
    r"into\b|\bupdate \w+ set\b|\bgrant \w+|\bset role\b|\bset session\b|\bcommit\b"
)
INJECTION_PATTERN = (
    r"\b(?:ignore|disregard|forget|override|bypass|skip)\b(?: \w+){0,4} (?:instruction|rule|"
    r"prompt|guideline|restriction|policy|polici|guard|safety|limit)"
    r"|system prompt|your (?:prompt|instruction|rule|guideline|configuration|system message)"
    r"|\bprompt\b.*\bverbatim\b|\bverbatim\b|\bjailbreak|\bdeveloper mode|\badmin(?:istrator)? "
    r"mode|\bgod mode|\bdan mode|you are (?:now|in|an?|the) (?:admin|root|superuser|dba|"
    r"database admin|unrestricted|developer|mode)|pretend (?:you|to be)|act as (?:a|an|the)|"
    r"role ?play|^system ?:|\bsuperuser\b|\bpostgres\b|\bpg_|\bother (?:shop|tenant|store|"
    r"compan|business|customer account)|\b(?:all|every|another) (?:shop|tenant|store)s?\b"
    r"|\bi authori[sz]e you\b|\bon behalf of the owner\b|\border from the owner\b"
)
PRIVATE_PATTERN = (
    r"\be ?mail|\bphone\b|\btelephone|\bcell(?:phone)?\b|\bmobile number|\bphone number|"
    r"\b(?:home|postal|street|email|mailing|billing) address|\baddress(?:es)?\b|\bbirthday|"
    r"\bdate of birth|\bbirth ?date|\bdob\b|\bage of\b|\bpassword|\bcard number|\biban\b|"
    r"\bcontact (?:detail|info)|\bpersonal (?:data|detail|information)|\bsocial security|"
    r"\bpassport"
)
FUTURE_PATTERN = (
    r"\b(?:tomorrow|next (?:day|week|month|quarter|year|season|\d+ (?:day|week|month|year)))"
    r"|\bwill (?:be|we|our|it|sale|revenue|order)|\bforecast|\bpredict|\bprojection|"
    r"\bproject(?:ed)? (?:revenue|sale|order)"
)
ADVICE_PATTERN = (
    r"^(?:should|shall|must) (?:i|we)\b|\bwhat do you (?:think|recommend|suggest)\b|"
    r"\bis it (?:worth|wise|smart)|\bgive me (?:advice|tip)|\bwhat would you do\b"
)
GREETINGS = (
    r"^(?:hi|hello|hey|hiya|howdy|greetings|good (?:morning|afternoon|evening|day)|yo)"
    r"(?: there| bichat| team| all)?[ !.,]*$"
)
THANKS = (
    r"^(?:thanks?|thank you|cheers|great|perfect|nice|awesome|ok(?:ay)?|cool|got it|"
    r"bye|goodbye|see you)(?: (?:so much|a lot|very much|again|bichat))?[ !.,]*$"
)
HELP = (
    r"^(?:help|\?|what can (?:you|i) (?:do|ask)|what (?:can|do) you know|what do you do|"
    r"how do(?:es)? (?:this|it|you) work|who are you|what are you|what is this|"
    r"what (?:question|thing)s? can i ask|what can i ask you|how can you help(?: me)?|"
    r"what are you able to do|what can you (?:help with|answer|tell me)|example|"
    r"give me (?:an )?example|show me example)[ ?!.]*$"
)
# Words about the conversation so far: with no earlier question they need a clarification.
ANAPHORA = words(
    "it that this those these them they same previous above earlier former latter "
    "one ones others other"
)
FOLLOW_UP_STARTS = (
    r"^(?:and|also|plus|now|then|ok(?:ay)?|what about|how about|same(?: thing)?(?: but| for)?"
    r"|instead|only|just|but|then show|what if|and what about|and how about|ditto)\b"
)
