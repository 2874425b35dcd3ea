"""What the scripted model says, per language (``en``, ``es``): keys of :data:`PHRASES`.

``{...}`` fields are filled by ``CallFlowPolicy.say``. The flows recognise some of their
own earlier lines by text (e.g. "did I just ask for a callback time?"), so a phrase is
also a state marker: keep each one distinct.
"""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "ack": "Thanks, that helps.",
        "qualified_no_calendar": "That sounds like a great fit. A colleague will reach out to set up a meeting. Thanks for your time!",
        "ask_time": "That sounds like a great fit. What day and time would suit you for a 30-minute call with our team?",
        "nurture": "Thanks for being so open. It sounds like the timing isn't quite right, so I'll send you some material and check back in a few months. Have a great day!",
        "disqualified": "Thanks for your time. It doesn't sound like we're the right fit right now, but I appreciate the chat. Goodbye!",
        "offer": "I can offer {slots}. Which works best for you?",
        "no_slots": "I couldn't find a free slot in the next days. A colleague will email you some options. Thanks!",
        "which_slot": "Sorry, which of those times works for you? {slots}.",
        "ask_email": "Great. What's the best email to send the invite to?",
        "booked": "You're all set for {when}. You'll get a Teams invite by email. Thanks, and talk soon!",
        "tool_error": "Sorry, I ran into a problem: {error}",
        "wrong_number": "I'm so sorry to have bothered you. I'll update our records. Have a good day!",
        "not_interested": "I understand, thanks for your time. I won't take any more of it. Goodbye!",
        "dnc": "Understood. I'll make sure we don't call you again. Goodbye!",
        "transferring": "Of course, let me connect you with a colleague now.",
        "transferred": "You're being connected now.",
        "transfer_failed": "I'm sorry, I couldn't reach anyone right now. Can I take a message so they can call you back?",
        "ask_message": "Everyone on the team is on calls at the moment. Can I take a message so they can call you back?",
        "message_taken": "Got it, I'll pass that on and someone will call you back. Goodbye!",
        "joiner": "Great.|Thanks.|Got it.|Understood.",
        "greeting": "Hi, this is an assistant calling from {company}. Do you have a minute?",
        "ask_callback_time": "Of course. When would be a good time to call you back?",
        "callback_booked": "Perfect, I'll call you back on {when}. Talk to you then, goodbye!",
        "callback_booked_plain": "Perfect, we'll call you back then. Talk to you soon, goodbye!",
        "callback_utc": "I don't have your time zone, so that's UTC.",
        "callback_later": "No problem, we'll try you again another time. Goodbye!",
        "callback_retry": "Sorry, I didn't catch when to call you back. What day and time would suit you, for example tomorrow at 3 PM?",
    },
    "es": {
        "ack": "Gracias, eso ayuda.",
        "qualified_no_calendar": "Suena a que encajamos muy bien. Un colega le contactará para agendar una reunión. ¡Gracias por su tiempo!",
        "ask_time": "Suena a que encajamos muy bien. ¿Qué día y hora le vendría bien para una llamada de 30 minutos con nuestro equipo?",
        "nurture": "Gracias por su franqueza. Parece que aún no es el momento, así que le enviaré información y volveremos a hablar en unos meses. ¡Que tenga un buen día!",
        "disqualified": "Gracias por su tiempo. Parece que ahora no somos la mejor opción, pero agradezco la conversación. ¡Adiós!",
        "offer": "Puedo ofrecerle {slots}. ¿Cuál le viene mejor?",
        "no_slots": "No encontré huecos libres en los próximos días. Un colega le enviará opciones por correo. ¡Gracias!",
        "which_slot": "Perdone, ¿cuál de estos horarios le viene bien? {slots}.",
        "ask_email": "Perfecto. ¿A qué correo le envío la invitación?",
        "booked": "Listo, queda agendado para {when}. Recibirá una invitación de Teams por correo. ¡Gracias y hasta pronto!",
        "tool_error": "Perdone, tuve un problema: {error}",
        "wrong_number": "Disculpe la molestia. Actualizaré nuestros registros. ¡Que tenga un buen día!",
        "not_interested": "Lo entiendo, gracias por su tiempo. No le quito más. ¡Adiós!",
        "dnc": "Entendido. Nos aseguraremos de no volver a llamarle. ¡Adiós!",
        "transferring": "Por supuesto, le paso con un colega ahora mismo.",
        "transferred": "Le estamos conectando.",
        "transfer_failed": "Lo siento, no pude localizar a nadie ahora. ¿Quiere dejar un mensaje para que le devuelvan la llamada?",
        "ask_message": "Todo el equipo está en llamadas ahora mismo. ¿Quiere dejar un mensaje para que le devuelvan la llamada?",
        "message_taken": "Anotado, se lo paso y le devolverán la llamada. ¡Adiós!",
        "joiner": "Perfecto.|Gracias.|Entendido.|De acuerdo.",
        "greeting": "Hola, le llama un asistente de {company}. ¿Tiene un minuto?",
        "ask_callback_time": "Por supuesto. ¿Cuándo le viene bien que le volvamos a llamar?",
        "callback_booked": "Perfecto, le volveré a llamar {when}. ¡Hasta entonces!",
        "callback_booked_plain": "Perfecto, le volveremos a llamar entonces. ¡Hasta pronto!",
        "callback_utc": "No tengo su zona horaria, así que es hora UTC.",
        "callback_later": "No se preocupe, le volveremos a llamar en otro momento. ¡Adiós!",
        "callback_retry": "Perdone, no entendí cuándo llamarle. ¿Qué día y a qué hora le viene bien, por ejemplo mañana a las 3 de la tarde?",
    },
}
