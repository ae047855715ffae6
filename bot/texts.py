"""The bot's own texts in each built-in language (SPEC section 7): what it says, as plain data.

Re-prompts' reasons, confirmations, "let's move on", the default help, outro, quota and
closed lines, opt-out and opt-in confirmations, the keyword list, and how answers and
dates are printed. The words it reads in replies are in `bot/words.py`; how the parts of
one message are put together is `bot/compose.py`.
"""

from __future__ import annotations

from datetime import date

from bot.words import ENGLISH, MONTH_ABBREVIATIONS

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "text_empty": "Please reply with your answer in words.",
        "text_too_long": "Please keep your answer to {max_length} characters or fewer.",
        "choice_one": "Please reply with 1.",
        "choice_range": "Please reply with a number from 1 to {count}.",
        "multi_some": "Please reply with one or more numbers from 1 to {count}, like {example}.",
        "multi_some_or_none": "Please reply with one or more numbers from 1 to {count}, "
        "like {example}, or NONE.",
        "multi_many": "Please reply with {low} or more numbers from 1 to {count}, like {example}.",
        "multi_at_least": "Please choose at least {low}, like {example}.",
        "multi_at_most": "Please choose at most {high}, like {example}.",
        "yesno": "Please reply YES or NO.",
        "kind_number": "a number",
        "kind_whole": "a whole number",
        "kind_one_number": "just one number",
        "kind_one_whole": "just one whole number",
        "number_range": "Please reply with {kind} from {low} to {high}.",
        "number_min": "Please reply with {kind} of {low} or more, like {example}.",
        "number_max": "Please reply with {kind} of {high} or less, like {example}.",
        "number_any": "Please reply with {kind}, like {example}.",
        "number_digits": "Please reply with {kind} of at most {digits} digits, like {example}.",
        "date_any": "Please reply with a date, like {example}.",
        "date_range": "Please reply with a date from {low} to {high}, like {example}.",
        "date_min": "Please reply with a date on or after {low}, like {example}.",
        "date_max": "Please reply with a date on or before {high}, like {example}.",
        "help": "{name}: a survey by text message. Reply STOP to opt out, BACK to change your "
        "last answer, RESTART to start over.",
        "opted_in": "You are subscribed again and will get our messages. Reply STOP to opt out.",
        "opted_out": "You are unsubscribed and will get no more messages. "
        "Reply START to subscribe again.",
        "need_text": "Please reply with text.",
        "move_on": "Let's move on.",
        "recontact": "We would still like to hear from you.",
        "skip_refused": "This question needs an answer.",
        "already_completed": "You have already completed {name}. Thank you!",
        "quota_full": "Thank you! We already have enough answers from people like you.",
        "closed": "{name} is closed. Thank you!",
        "keywords": "Text {offers}.",
        "keyword_offer": "{keyword} for {name}",
        "offer_separator": ", or ",
        "no_survey": "There is no survey to answer right now.",
        "back_at_first": "This is the first question.",
        "did_you_mean": 'Did you mean "{label}"? Reply YES or NO.',
        "constraint": "Please check your answer.",
        "outro": "Thank you!",
        "shown_yes": "Yes",
        "shown_no": "No",
        "shown_and": "and",
    },
    "es": {
        "text_empty": "Por favor, escribe tu respuesta con palabras.",
        "text_too_long": "Por favor, usa {max_length} caracteres como máximo.",
        "choice_one": "Por favor, responde con 1.",
        "choice_range": "Por favor, responde con un número del 1 al {count}.",
        "multi_some": "Por favor, responde con uno o más números del 1 al {count}, como {example}.",
        "multi_some_or_none": "Por favor, responde con uno o más números del 1 al {count}, "
        "como {example}, o NINGUNO.",
        "multi_many": "Por favor, responde con {low} o más números del 1 al {count}, "
        "como {example}.",
        "multi_at_least": "Por favor, elige al menos {low}, como {example}.",
        "multi_at_most": "Por favor, elige {high} como máximo, por ejemplo {example}.",
        "yesno": "Por favor, responde SI o NO.",
        "kind_number": "un número",
        "kind_whole": "un número entero",
        "kind_one_number": "un solo número",
        "kind_one_whole": "un solo número entero",
        "number_range": "Por favor, responde con {kind} del {low} al {high}.",
        "number_min": "Por favor, responde con {kind} de {low} o más, como {example}.",
        "number_max": "Por favor, responde con {kind} de {high} o menos, como {example}.",
        "number_any": "Por favor, responde con {kind}, como {example}.",
        "number_digits": "Por favor, responde con {kind} de hasta {digits} cifras, como {example}.",
        "date_any": "Por favor, responde con una fecha, como {example}.",
        "date_range": "Por favor, responde con una fecha del {low} al {high}, como {example}.",
        "date_min": "Por favor, responde con una fecha desde el {low}, como {example}.",
        "date_max": "Por favor, responde con una fecha hasta el {high}, como {example}.",
        "help": "{name}: una encuesta por SMS. Responde PARAR para darte de baja, ATRAS para "
        "cambiar tu última respuesta, REINICIAR para empezar de nuevo.",
        "opted_in": "Te has suscrito de nuevo y recibirás nuestros mensajes. "
        "Responde PARAR para darte de baja.",
        "opted_out": "Te has dado de baja y no recibirás más mensajes. "
        "Responde COMENZAR para suscribirte de nuevo.",
        "need_text": "Por favor, responde con texto.",
        "move_on": "Sigamos.",
        "recontact": "Todavía nos gustaría conocer su opinión.",
        "skip_refused": "Esta pregunta necesita una respuesta.",
        "already_completed": "Ya completaste {name}. ¡Gracias!",
        "quota_full": "¡Gracias! Ya tenemos suficientes respuestas de personas como usted.",
        "closed": "{name} está cerrada. ¡Gracias!",
        "keywords": "Envía {offers}.",
        "keyword_offer": "{keyword} para {name}",
        "offer_separator": ", o ",
        "no_survey": "No hay ninguna encuesta para responder ahora.",
        "back_at_first": "Esta es la primera pregunta.",
        "did_you_mean": '¿Quisiste decir "{label}"? Responde SI o NO.',
        "constraint": "Por favor, revisa tu respuesta.",
        "outro": "¡Gracias!",
        "shown_yes": "Sí",
        "shown_no": "No",
        "shown_and": "y",
    },
    "fr": {
        "text_empty": "Merci d'écrire votre réponse en toutes lettres.",
        "text_too_long": "Merci de répondre en {max_length} caractères au plus.",
        "choice_one": "Merci de répondre 1.",
        "choice_range": "Merci de répondre par un nombre de 1 à {count}.",
        "multi_some": "Merci de répondre par un ou plusieurs nombres de 1 à {count}, "
        "comme {example}.",
        "multi_some_or_none": "Merci de répondre par un ou plusieurs nombres de 1 à {count}, "
        "comme {example}, ou AUCUN.",
        "multi_many": "Merci de répondre par {low} nombres ou plus de 1 à {count}, "
        "comme {example}.",
        "multi_at_least": "Merci d'en choisir au moins {low}, comme {example}.",
        "multi_at_most": "Merci d'en choisir au plus {high}, comme {example}.",
        "yesno": "Merci de répondre OUI ou NON.",
        "kind_number": "un nombre",
        "kind_whole": "un nombre entier",
        "kind_one_number": "un seul nombre",
        "kind_one_whole": "un seul nombre entier",
        "number_range": "Merci de répondre par {kind} de {low} à {high}.",
        "number_min": "Merci de répondre par {kind} de {low} ou plus, comme {example}.",
        "number_max": "Merci de répondre par {kind} de {high} ou moins, comme {example}.",
        "number_any": "Merci de répondre par {kind}, comme {example}.",
        "number_digits": "Merci de répondre par {kind} de {digits} chiffres au plus, "
        "comme {example}.",
        "date_any": "Merci de répondre par une date, comme {example}.",
        "date_range": "Merci de répondre par une date du {low} au {high}, comme {example}.",
        "date_min": "Merci de répondre par une date à partir du {low}, comme {example}.",
        "date_max": "Merci de répondre par une date jusqu'au {high}, comme {example}.",
        "help": "{name} : un questionnaire par SMS. Répondez ARRET pour vous désabonner, RETOUR "
        "pour changer votre dernière réponse, RECOMMENCER pour tout reprendre.",
        "opted_in": "Vous êtes de nouveau abonné et recevrez nos messages. "
        "Répondez ARRET pour vous désabonner.",
        "opted_out": "Vous êtes désabonné et ne recevrez plus de messages. "
        "Répondez COMMENCER pour vous réabonner.",
        "need_text": "Merci de répondre par un texte.",
        "move_on": "Passons à la suite.",
        "recontact": "Nous aimerions toujours avoir votre avis.",
        "skip_refused": "Cette question demande une réponse.",
        "already_completed": "Vous avez déjà répondu à {name}. Merci !",
        "quota_full": "Merci ! Nous avons déjà assez de réponses de personnes comme vous.",
        "closed": "{name} est terminé. Merci !",
        "keywords": "Envoyez {offers}.",
        "keyword_offer": "{keyword} pour {name}",
        "offer_separator": ", ou ",
        "no_survey": "Il n'y a pas de questionnaire en cours.",
        "back_at_first": "C'est la première question.",
        "did_you_mean": 'Vouliez-vous dire "{label}" ? Répondez OUI ou NON.',
        "constraint": "Merci de vérifier votre réponse.",
        "outro": "Merci !",
        "shown_yes": "Oui",
        "shown_no": "Non",
        "shown_and": "et",
    },
    "pt": {
        "text_empty": "Por favor, escreva sua resposta com palavras.",
        "text_too_long": "Por favor, use no máximo {max_length} caracteres.",
        "choice_one": "Por favor, responda com 1.",
        "choice_range": "Por favor, responda com um número de 1 a {count}.",
        "multi_some": "Por favor, responda com um ou mais números de 1 a {count}, como {example}.",
        "multi_some_or_none": "Por favor, responda com um ou mais números de 1 a {count}, "
        "como {example}, ou NENHUM.",
        "multi_many": "Por favor, responda com {low} ou mais números de 1 a {count}, "
        "como {example}.",
        "multi_at_least": "Por favor, escolha pelo menos {low}, como {example}.",
        "multi_at_most": "Por favor, escolha no máximo {high}, como {example}.",
        "yesno": "Por favor, responda SIM ou NÃO.",
        "kind_number": "um número",
        "kind_whole": "um número inteiro",
        "kind_one_number": "apenas um número",
        "kind_one_whole": "apenas um número inteiro",
        "number_range": "Por favor, responda com {kind} de {low} a {high}.",
        "number_min": "Por favor, responda com {kind} de {low} ou mais, como {example}.",
        "number_max": "Por favor, responda com {kind} de {high} ou menos, como {example}.",
        "number_any": "Por favor, responda com {kind}, como {example}.",
        "number_digits": "Por favor, responda com {kind} de até {digits} dígitos, como {example}.",
        "date_any": "Por favor, responda com uma data, como {example}.",
        "date_range": "Por favor, responda com uma data de {low} a {high}, como {example}.",
        "date_min": "Por favor, responda com uma data a partir de {low}, como {example}.",
        "date_max": "Por favor, responda com uma data até {high}, como {example}.",
        "help": "{name}: uma pesquisa por SMS. Responda PARAR para sair, VOLTAR para mudar sua "
        "última resposta, REINICIAR para começar de novo.",
        "opted_in": "Você está inscrito novamente e receberá nossas mensagens. "
        "Responda PARAR para sair.",
        "opted_out": "Você saiu e não receberá mais mensagens. "
        "Responda COMECAR para se inscrever de novo.",
        "need_text": "Por favor, responda com texto.",
        "move_on": "Vamos seguir.",
        "recontact": "Ainda gostaríamos de saber a sua opinião.",
        "skip_refused": "Esta pergunta precisa de uma resposta.",
        "already_completed": "Você já respondeu {name}. Obrigado!",
        "quota_full": "Obrigado! Já temos respostas suficientes de pessoas como você.",
        "closed": "{name} está encerrada. Obrigado!",
        "keywords": "Envie {offers}.",
        "keyword_offer": "{keyword} para {name}",
        "offer_separator": ", ou ",
        "no_survey": "Não há nenhuma pesquisa para responder agora.",
        "back_at_first": "Esta é a primeira pergunta.",
        "did_you_mean": 'Você quis dizer "{label}"? Responda SIM ou NÃO.',
        "constraint": "Por favor, confira sua resposta.",
        "outro": "Obrigado!",
        "shown_yes": "Sim",
        "shown_no": "Não",
        "shown_and": "e",
    },
}


def text(key: str, language: str, /, **fields: object) -> str:
    """The bot's text `key` in `language` (English when it has none), with `fields` filled in."""
    template = TEXTS.get(language, TEXTS[ENGLISH]).get(key) or TEXTS[ENGLISH][key]
    return template.format(**fields)


def keywords_text(offers: list[tuple[str, str]], language: str) -> str:
    """`Text FEEDBACK for Visit feedback, or ...`: each (keyword, survey name) offered."""
    parts = [text("keyword_offer", language, keyword=k, name=n) for k, n in offers]
    return text("keywords", language, offers=text("offer_separator", language).join(parts))


def written_date(day: date, language: str) -> str:
    """A date as templates print it: `28 Nov 2026`, `28 nov 2026` in Spanish."""
    table = MONTH_ABBREVIATIONS.get(language, MONTH_ABBREVIATIONS[ENGLISH]).split()
    month = table[day.month - 1]
    return f"{day.day} {month.capitalize() if language == ENGLISH else month} {day.year}"
