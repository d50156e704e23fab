"""Calibration text for SmoothQuant (encoders/smoothquant.py): short invented dialogues that ship with the package.

Why here and not a data set: `emotrace export --backend onnx-int8` runs on users' machines, where no benchmark data
may exist, so the int8 export calibrates on these. They were written for emotrace (no corpus text): everyday
conversation across the emotions the models predict, with short and long turns, shouting, hesitation, numbers,
emoji and a few non-English lines, because the smoothing scales are per-channel maxima and should see the range
of inputs users send. One dialogue per string, one `Speaker: text` turn per line.
"""

from __future__ import annotations

from emotrace.schema import Conversation, Utterance

DIALOGUES = (
    """Maya: Did you take the last slice of cake?
Tom: Which cake?
Maya: The one with my name written on it in frosting, Tom.
Tom: Okay, in my defence, the frosting said "Ma", the rest was already gone.
Maya: Unbelievable.
Tom: I'll buy you a new one. A bigger one. With your whole name.
Maya: You'd better.""",
    """Priya: I got the job!!!
Sam: No way! The one at the museum?
Priya: Yes! They called me twenty minutes ago and I've been shaking ever since.
Sam: I'm so proud of you. We are celebrating tonight, no excuses.
Priya: I still can't believe it. I was sure I'd blown the second interview.
Sam: You always say that.
Priya: And I'm always wrong, apparently! 🎉""",
    """Dr. Alvarez: Please, sit down. I have your results.
Elena: Is it bad? Just tell me straight.
Dr. Alvarez: The scan shows a small mass. We need a biopsy before we know anything for certain.
Elena: A mass.
Dr. Alvarez: Many of these turn out to be benign. I know that's hard to hear right now.
Elena: I... I need a minute.
Dr. Alvarez: Take all the time you need.""",
    """Jordan: Why is there water all over the kitchen floor?
Casey: The dishwasher. It just started pouring out about ten minutes ago.
Jordan: And you didn't turn it off?
Casey: I didn't know how! There's like four buttons and none of them say stop.
Jordan: Oh my God. Get towels. All the towels.
Casey: Even the nice ones?
Jordan: ALL THE TOWELS, CASEY.""",
    """Grandma Rose: Your grandfather used to sing this song every Sunday morning.
Lily: Really? I never heard him sing.
Grandma Rose: He stopped after the war. He said his voice belonged to a younger man.
Lily: That's so sad.
Grandma Rose: No, dear. It was his choice, and he was at peace with it.
Lily: Will you sing it for me?
Grandma Rose: Oh, my voice is worse than his ever was. But all right, just for you.""",
    """Agent: Thank you for calling, how can I help you today?
Customer: I've been charged three times for the same order. Three times!
Agent: I'm sorry to hear that. Can I have the order number, please?
Customer: It's 4471-2209. I've already called twice this week.
Agent: I can see the duplicate charges. I'll refund two of them right now.
Customer: How long will that take?
Agent: Three to five business days.
Customer: Fine. Thank you. Sorry for shouting, it's been a long day.""",
    """Ben: So... I have something to tell you.
Ana: That sounds ominous.
Ben: I accidentally told your mom about the surprise party.
Ana: You WHAT?
Ben: She asked what we were doing Saturday and I panicked!
Ana: You could have said "nothing". Literally anything else.
Ben: I know. I'm the worst.
Ana: You are not the worst. But you're definitely in the top three.""",
    """Kenji: Is anyone else hearing that noise from the attic?
Ruth: What noise?
Kenji: Listen. There. Scratching.
Ruth: Okay, now I hear it. I hate this.
Kenji: It's probably just a squirrel.
Ruth: Probably? You're going up there to check, right?
Kenji: Me? Why me?
Ruth: Because you said "probably".""",
    """Nora: Ugh, there's hair in my soup.
Waiter: I'm terribly sorry, ma'am. I'll bring you a fresh bowl right away.
Nora: Honestly, I've lost my appetite.
Waiter: Of course. Can I offer you something else, on the house?
Nora: Just the check, please.
Waiter: Certainly.""",
    """Leo: We lost. Again. Six to nothing.
Mia: It's a youth league, Leo. They're nine.
Leo: I know they're nine! I'm not upset with them, I'm upset with me. I'm the coach.
Mia: Did they have fun?
Leo: They had a great time. One of them found a frog.
Mia: Then you won.
Leo: That's not how scoring works.""",
    """Hannah: I'm moving to Lisbon.
Dev: Wait, what? Since when?
Hannah: Since this morning. I signed the lease on the flat an hour ago.
Dev: Without telling anyone?
Hannah: I'm telling you now.
Dev: Hannah, that's... that's actually amazing. I'm going to miss you like crazy, though.
Hannah: You'll visit. I'll make you.""",
    """Officer: License and registration, please.
Driver: Sure, just a second, it's in the glove box. Was I speeding?
Officer: Fifty-two in a thirty zone.
Driver: Oh no. I'm so sorry, officer, my wife is in labour at the hospital.
Officer: Is that right?
Driver: I swear! She texted me ten minutes ago. Look!
Officer: ...Follow me. I'll get you there.""",
    """Zoe: Whose turn is it to clean the bathroom?
Max: Yours.
Zoe: I did it last week.
Max: You did the sink. Sink doesn't count.
Zoe: Since when does the sink not count?
Max: Since always. Read the chart.
Zoe: You MADE the chart.
Max: And it's a very fair chart.""",
    """Teacher: Before we start, I have the exam results.
Student: Please say I passed. Please, please, please.
Teacher: You passed, Omar. Seventy-eight percent.
Student: SEVENTY-EIGHT? Are you serious?
Teacher: Very serious. Your essay on the French Revolution was the best in the class.
Student: I stayed up until four writing it.
Teacher: It showed. Well done.""",
    """Ivy: I found your diary.
Rob: You read my diary?!
Ivy: Only the first page! I stopped, I promise.
Rob: What did the first page say?
Ivy: That you think I'm annoying.
Rob: I wrote that when I was twelve.
Ivy: You're fourteen.
Rob: Exactly. I've grown.""",
    """Pilot: Ladies and gentlemen, we're experiencing some turbulence. Please return to your seats and fasten your seatbelts.
Passenger A: Is this normal? This doesn't feel normal.
Passenger B: It's just bumps. Planes are built for this.
Passenger A: The drinks cart just flew past me.
Passenger B: ...okay, that's less normal.
Pilot: Apologies, folks. We're climbing out of it now.""",
    """Carla: Guess who I ran into at the supermarket.
Frank: Who?
Carla: Danny. From high school.
Frank: Danny Moreno? The guy who set the chemistry lab on fire?
Carla: The very same. He's a firefighter now.
Frank: You're kidding.
Carla: I could not make this up if I tried.""",
    """Aisha: I don't want to go to the funeral.
Mark: I know.
Aisha: Everyone will be looking at me, asking how I'm holding up, and I'm not. I'm not holding up at all.
Mark: Then don't hold up. Just be there. I'll be next to you the whole time.
Aisha: Promise?
Mark: Promise.""",
    """Chef: Who put salt in the dessert?
Cook: It said "sugar" on the container!
Chef: It said "sugar" because someone LABELLED IT WRONG.
Cook: Who?
Chef: It's your handwriting, Luis.
Cook: ...Ah.
Chef: Fifty covers tonight. Fifty. Start again.""",
    """Sophie: Is it weird that I miss the office?
Tariq: A little.
Sophie: I miss the coffee machine that only made one kind of terrible coffee.
Tariq: You miss people.
Sophie: Maybe. Working from my kitchen table for two years does things to a person.
Tariq: Come to lunch on Friday. The whole team's going.
Sophie: Okay. Yes. I'd like that.""",
    """Marco: Oh, come ON. It crashed again!
Lena: Did you save?
Marco: Of course I didn't save. Who saves?
Lena: People whose laptops crash every ten minutes, Marco.
Marco: Three hours of work. Gone.
Lena: Check the recovery folder, sometimes it keeps a copy.
Marco: ...It's here. It's all here! You're a genius!
Lena: I know.""",
    """Ruby: Mom, can I get a dog?
Mom: We've talked about this.
Ruby: I'll walk him every day, twice! And feed him! And brush him!
Mom: You said that about the hamster.
Ruby: The hamster was different. The hamster didn't like me.
Mom: We'll see.
Ruby: "We'll see" means yes!
Mom: "We'll see" means we'll see.""",
    """Neighbour: Excuse me, is that your car blocking my driveway?
Pete: Oh, sorry, yes, I'll move it right now.
Neighbour: This is the fourth time this month.
Pete: I know, I know. My brother's staying with us and he keeps parking there.
Neighbour: Then tell your brother. I was late for work on Monday because of it.
Pete: I'll talk to him tonight. I really am sorry.""",
    """Gabe: Did you see the final? Last-minute goal!
Nina: I was screaming so loud the neighbours knocked.
Gabe: Ninety-fourth minute! From thirty yards!
Nina: Best game of the season, easily.
Gabe: Of the decade.
Nina: Let's not get carried away.""",
    """Harper: You forgot our anniversary.
Will: No, I didn't. It's on the twelfth.
Harper: Today is the twelfth.
Will: ...
Harper: Yeah.
Will: Harper, I'm so sorry. I have no excuse. Let me take you out tonight, anywhere you want.
Harper: Anywhere?
Will: Anywhere.
Harper: That sushi place you hate.
Will: I deserve that.""",
    """Yusuf: The results are in. The grant was approved.
Clara: Both years?
Yusuf: Both years, full funding. We can hire the two students.
Clara: I've been waiting eight months for this email.
Yusuf: I know. I nearly cried in the corridor.
Clara: Champagne. Now. I don't care that it's 10 a.m.""",
    """Inés: ¿Dónde pusiste las llaves?
Pablo: En la mesa, como siempre.
Inés: No están en la mesa.
Pablo: Entonces están en tu bolso.
Inés: ...Sí. Están en mi bolso.
Pablo: De nada.""",
    """Claire: Je suis tellement fatiguée ce soir.
Julien: Tu veux qu'on commande une pizza ?
Claire: Oui, s'il te plaît. Je ne peux plus rien faire.
Julien: Margherita ou quatre fromages ?
Claire: Les deux. C'est une soirée difficile.""",
    """Anja: Ich kann das nicht glauben!
Felix: Was ist passiert?
Anja: Der Zug ist schon wieder ausgefallen. Zum dritten Mal diese Woche.
Felix: Soll ich dich abholen?
Anja: Das wäre wunderbar. Danke!""",
    """Sara: hey
Chris: hey you
Sara: r u still up
Chris: yeah cant sleep
Sara: same. thinking about tomorrow
Chris: itll be fine. ur ready
Sara: thx 🙂
Chris: night""",
    """Host: Welcome back to the show! Tonight's contestant is a retired teacher from Ohio.
Contestant: Hi! Hello, everyone! Hi, Mom!
Host: For ten thousand dollars: which planet has the most moons?
Contestant: Oh gosh. Saturn? No, Jupiter. No. Saturn. Final answer, Saturn.
Host: That is... CORRECT!
Contestant: Oh my goodness! Oh my goodness!""",
    """Victor: I read your report.
Alina: And?
Victor: And it's good. Really good. But the numbers in section three don't add up.
Alina: What? I checked them twice.
Victor: Table 4 says 1,250 units, the chart says 12,500.
Alina: Oh no. That's a typo. The chart's wrong.
Victor: Fix it before Thursday and it's ready to go.""",
    """Quinn: I think I'm going to quit.
Rosa: Quit what?
Quinn: Everything. The job, the band, the apartment. I want to start over somewhere quiet.
Rosa: That's a lot at once.
Quinn: I know. I just feel like I'm drowning here, and nobody notices.
Rosa: I notice. Let's talk about it properly. Not tonight, you're exhausted. Tomorrow, over breakfast.
Quinn: Okay. Thanks, Rosa.""",
    """Eddie: Did you eat my leftovers?
Paul: Define "eat".
Eddie: Paul.
Paul: I tasted them. Extensively.
Eddie: There's nothing left!
Paul: They were really good leftovers, Eddie. That's a compliment.
Eddie: Buy me dinner.
Paul: Fair.""",
    """Tech: Have you tried turning it off and on again?
Caller: Yes. Four times.
Tech: Is the cable plugged in?
Caller: Which cable?
Tech: The grey one at the back.
Caller: ...There's no cable at the back.
Tech: Ah. That would be the problem.
Caller: I'm so embarrassed right now.""",
    """Maria: I'm pregnant.
Luke: You're... what?
Maria: Pregnant. Twelve weeks. I wanted to be sure before I told you.
Luke: We're having a baby?
Maria: We're having a baby.
Luke: Oh my God. Oh my God! Come here!
Maria: Careful! I'm not made of glass. Yet.""",
    """Olga: The heating's broken again and it's minus ten outside.
Landlord: I'll send someone on Monday.
Olga: Monday? It's Friday! We'll freeze!
Landlord: The repairman doesn't work weekends.
Olga: Then find one who does. I have a newborn in this flat.
Landlord: ...All right. I'll make some calls.""",
    """Theo: Why is the cat wearing a hat?
Jess: It's his birthday.
Theo: Cats don't know it's their birthday.
Jess: He knows. Look at his face.
Theo: That's the face of a cat who wants the hat off.
Jess: That's the face of a cat who is secretly delighted.""",
    """Announcer: Due to a signalling fault, the 18:45 service to Manchester has been cancelled. We apologise for any inconvenience.
Commuter: You have got to be joking.
Stranger: Third time this week for me.
Commuter: I have a presentation at eight tomorrow morning in Manchester.
Stranger: There's a coach at seven from the station across the road. It's slow, but it gets there.
Commuter: Thank you. Really. You might have just saved my job.""",
    """Ada: Be honest. Does this dress look okay?
Kim: Honestly? It looks amazing.
Ada: You're not just saying that?
Kim: When have I ever just said anything? I told you the green one looked like a tent.
Ada: True. That was brutal.
Kim: And accurate.""",
)


def calibration_conversations() -> list[Conversation]:
    """The dialogues as conversations, so a bundle's export builds its encoder inputs from them as at run time."""
    conversations = []
    for number, dialogue in enumerate(DIALOGUES):
        turns = [line.split(": ", 1) for line in dialogue.splitlines()]
        utterances = [Utterance(text=text, speaker=speaker) for speaker, text in turns]
        conversations.append(Conversation(id=f"calibration-{number}", utterances=utterances))
    return conversations


def calibration_texts() -> list[str]:
    """Every turn's text, then each dialogue as one text, so that later positions (long inputs) are seen too."""
    conversations = calibration_conversations()
    turns = [utterance.text for conversation in conversations for utterance in conversation.utterances]
    return turns + [" ".join(utterance.text for utterance in conversation.utterances) for conversation in conversations]
